"""Per-epoch training checkpoints for :func:`~topicclf.classifiers.transformer_training.train_transformer`.

A checkpoint folder holds, per saved epoch, ``state-N.safetensors`` (trainable weights, the
best epoch's weights, the optimiser's moments, torch's random state) and ``state-N.json``
(epoch, history, schedule, NumPy/Python random states, and a fingerprint of the data and
settings), and ``checkpoint.json``, which names the current pair. Nothing is pickled. A new
epoch's files are written first, then ``checkpoint.json`` is replaced atomically, then the
previous epoch's files are removed, so a run killed at any point resumes from the last
finished epoch. Only files this module wrote are ever removed: a folder that holds anything
else is refused.
"""

from __future__ import annotations

import json
import os
import random
import re
from pathlib import Path

import numpy as np

__all__ = ["EpochCheckpoint"]


class EpochCheckpoint:
    """Save and restore the training loop's state after each epoch.

    ``fingerprint`` (JSON-able) identifies the data and settings; :meth:`load` refuses a
    checkpoint written with another one instead of silently mixing two runs.
    """

    POINTER = "checkpoint.json"
    _OURS = re.compile(r"^(checkpoint\.json|state-\d+\.(safetensors|json))(\.tmp)?$")

    def __init__(self, folder, fingerprint: dict):
        self.folder = Path(folder)
        self.fingerprint = fingerprint
        if self.folder.exists():
            if not self.folder.is_dir():
                raise ValueError(f"checkpoint_dir {self.folder} is a file, not a folder")
            other = sorted(p.name for p in self.folder.iterdir() if not self._OURS.match(p.name))
            if other:
                raise ValueError(f"checkpoint_dir {self.folder} holds files that are not a topicclf checkpoint "
                                 f"({', '.join(other[:5])}); pass an empty or new folder")

    def _write(self, name: str, data: bytes) -> None:
        tmp = self.folder / f"{name}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, self.folder / name)

    def save(self, epoch: int, model, opt, sched, rng: np.random.Generator, trainable: list[str],
             loop: dict, best_state: dict | None) -> None:
        import torch
        from safetensors.torch import save as st_save

        params = dict(model.named_parameters())
        tensors = {f"model.{n}": params[n].detach().contiguous().cpu() for n in trainable}
        for n, v in (best_state or {}).items():
            tensors[f"best.{n}"] = v.detach().contiguous().cpu()
        osd = opt.state_dict()
        for i, st in osd["state"].items():
            for k, v in st.items():
                tensors[f"opt.{i}.{k}"] = (v if torch.is_tensor(v) else torch.tensor(v)).contiguous().cpu()
        tensors["torch_rng"] = torch.get_rng_state()
        meta = {"epoch": epoch, "fingerprint": self.fingerprint, "loop": loop,
                "has_best_state": best_state is not None,
                "opt_param_groups": osd["param_groups"],
                "opt_state_keys": {str(i): sorted(st) for i, st in osd["state"].items()},
                "sched": {k: v for k, v in sched.state_dict().items() if k != "lr_lambdas"},
                "numpy_rng": rng.bit_generator.state,
                "python_random": _jsonable_random_state(random.getstate())}
        self.folder.mkdir(parents=True, exist_ok=True)
        previous = self._pointer()
        names = {"weights": f"state-{epoch}.safetensors", "meta": f"state-{epoch}.json"}
        self._write(names["weights"], st_save(tensors))
        self._write(names["meta"], json.dumps(meta).encode("utf-8"))
        self._write(self.POINTER, json.dumps({"epoch": epoch, **names}).encode("utf-8"))
        for name in (previous or {}).values():
            if isinstance(name, str) and name not in names.values() and self._OURS.match(name):
                (self.folder / name).unlink(missing_ok=True)

    def _pointer(self) -> dict | None:
        path = self.folder / self.POINTER
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None

    def load(self, model, opt, sched, rng: np.random.Generator) -> dict | None:
        """Restore the state into ``model``/``opt``/``sched``/``rng``; ``None`` if there is no checkpoint."""
        import torch
        from safetensors.torch import load_file

        pointer = self._pointer()
        if pointer is None:
            return None
        folder = self.folder
        meta = json.loads((folder / pointer["meta"]).read_text(encoding="utf-8"))
        if meta.get("fingerprint") != self.fingerprint:
            raise ValueError(f"checkpoint {folder} was written for other data or settings; "
                             "delete it or pass another checkpoint_dir")
        tensors = load_file(str(folder / pointer["weights"]))
        params = dict(model.named_parameters())
        with torch.no_grad():
            for k, v in tensors.items():
                if k.startswith("model."):
                    params[k[len("model."):]].copy_(v)
        osd = {"state": {int(i): {k: tensors[f"opt.{i}.{k}"] for k in keys}
                         for i, keys in meta["opt_state_keys"].items()},
               "param_groups": meta["opt_param_groups"]}
        opt.load_state_dict(osd)
        sched.load_state_dict({**sched.state_dict(), **meta["sched"]})
        rng.bit_generator.state = meta["numpy_rng"]
        random.setstate(_random_state_from_json(meta["python_random"]))
        torch.set_rng_state(tensors["torch_rng"])
        best_state = ({k[len("best."):]: v for k, v in tensors.items() if k.startswith("best.")}
                      if meta["has_best_state"] else None)
        return {**meta["loop"], "epoch": meta["epoch"], "best_state": best_state}


def _jsonable_random_state(state):
    version, internal, gauss = state
    return [version, list(internal), gauss]


def _random_state_from_json(state):
    version, internal, gauss = state
    return (version, tuple(internal), gauss)
