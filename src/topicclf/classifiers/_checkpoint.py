"""Per-epoch training checkpoints for :func:`~topicclf.classifiers.transformer_training.train_transformer`.

A checkpoint is a folder with ``state.safetensors`` (trainable weights, the best epoch's
weights, the optimiser's moments, torch's random state) and ``state.json`` (epoch, history,
schedule, NumPy/Python random states, and a fingerprint of the data and settings). Nothing
is pickled, and a new checkpoint replaces the old one atomically (written beside it, then
renamed), so a run killed at any point resumes from the last finished epoch.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

import numpy as np

__all__ = ["EpochCheckpoint"]


class EpochCheckpoint:
    """Save and restore the training loop's state after each epoch.

    ``fingerprint`` (JSON-able) identifies the data and settings; :meth:`load` refuses a
    checkpoint written with another one instead of silently mixing two runs.
    """

    def __init__(self, folder, fingerprint: dict):
        self.folder = Path(folder)
        self.fingerprint = fingerprint

    def save(self, epoch: int, model, opt, sched, rng: np.random.Generator, trainable: list[str],
             loop: dict, best_state: dict | None) -> None:
        import torch
        from safetensors.torch import save_file

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
        tmp = self.folder.with_name(self.folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        save_file(tensors, str(tmp / "state.safetensors"))
        (tmp / "state.json").write_text(json.dumps(meta), encoding="utf-8")
        old = self.folder.with_name(self.folder.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if self.folder.exists():
            os.replace(self.folder, old)
        os.replace(tmp, self.folder)
        shutil.rmtree(old, ignore_errors=True)

    def load(self, model, opt, sched, rng: np.random.Generator) -> dict | None:
        """Restore the state into ``model``/``opt``/``sched``/``rng``; ``None`` if there is no checkpoint."""
        import torch
        from safetensors.torch import load_file

        folder = self.folder
        if not (folder / "state.json").is_file():
            old = folder.with_name(folder.name + ".old")  # killed between the two renames
            if not (old / "state.json").is_file():
                return None
            folder = old
        meta = json.loads((folder / "state.json").read_text(encoding="utf-8"))
        if meta.get("fingerprint") != self.fingerprint:
            raise ValueError(f"checkpoint {folder} was written for other data or settings; "
                             "delete it or pass another checkpoint_dir")
        tensors = load_file(str(folder / "state.safetensors"))
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
