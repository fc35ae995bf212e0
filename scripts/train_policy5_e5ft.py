"""Fine-tune multilingual-e5-small on policy5 train + train2: the teacher of the policy5 models.

    .venv/bin/python scripts/train_policy5_e5ft.py --out /tmp/policy5-e5ft     # one epoch, about an hour on 2 busy CPU cores

Settings (the ones measured in issue #10, first window per article): 256-token windows, first
window of each article for training, batch 16, lr 8e-5, per-label thresholds on a seeded 10 %
validation split of the training articles (never dev). Dev is scored at the end;
``scripts/train_policy5_cascade.py --teacher OUT`` compares it with the linear model and
measures cascades.

Resumable: training state is checkpointed after every epoch (``--checkpoint-dir``); run the
same command again after an interruption and it continues after the last finished epoch,
with the same result. Deterministic for a given seed, data and thread count.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "scripts"))

import train_policy5 as p5  # noqa: E402  (labels, groups, data helpers)

COMMAND = "python scripts/train_policy5_e5ft.py"
SETTINGS = dict(base_model="multilingual-e5-small", epochs=1, max_length=256, max_train_windows=1,
                max_windows=1, batch_size=16, lr=8e-5, val_fraction=0.1, monitor="macro_f1",
                patience=2, seed=0)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="model folder to write (about 240 MB: keep it out of git)")
    ap.add_argument("--checkpoint-dir", default=None, help="default: OUT.checkpoint")
    ap.add_argument("--epochs", type=int, default=SETTINGS["epochs"])
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    from topicclf.classifiers.transformer_training import train_transformer
    from topicclf.data import data_root, file_digest, load_records

    root = data_root()
    if root is None:
        raise SystemExit("no data: set TOPICCLF_DATA or put shared/data beside the repository")
    paths = [root / "policy5" / "train.jsonl", root / "policy5" / "train2.jsonl"]
    recs = [load_records(p, labels=p5.LABELS) for p in paths]
    texts = [t for r in recs for t in r.texts]
    labels = [l for r in recs for l in r.labels]
    meta = {"training": {"data": [{"path": f"policy5/{p.name}", "sha256": file_digest(p), "records": len(r)}
                                  for p, r in zip(paths, recs)], "command": COMMAND}}
    t0 = time.time()
    ck = args.checkpoint_dir or f"{args.out}.checkpoint"
    clf = train_transformer(texts, labels, label_set=p5.LABELS, languages=["vi", "en"], name="policy5-e5ft",
                            meta=meta, checkpoint_dir=ck, log_every=20, **{**SETTINGS, "epochs": args.epochs})
    clf.save(args.out)
    dev = load_records(root / "policy5" / "dev.jsonl", labels=p5.LABELS)
    res = p5.score_dev(clf, dev, [p5.group_of(s) for s in dev.extra["source"]])
    print(json.dumps({"minutes": round((time.time() - t0) / 60, 1), **p5.row_of(res, clf)}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
