"""Dynamic int8 quantization of an encoder's Linear layers (CPU), for embeddings and fine-tuned models."""
from __future__ import annotations

import warnings
from collections.abc import Sequence

__all__ = ["quantize_linear_layers"]


def _is_ffn_down(name: str) -> bool:
    """Whether a Linear layer is a feed-forward output ("down") projection.

    BERT/RoBERTa/XLM-R: ``encoder.layer.N.output.dense`` (but not
    ``attention.output.dense``); DistilBERT ``ffn.lin2``; others ``down_proj``/``fc2``/``wo``.
    """
    if name.endswith(".output.dense"):
        return not name.endswith("attention.output.dense")
    return name.endswith(("ffn.lin2", "down_proj", ".fc2", ".wo"))


def quantize_linear_layers(module, *, skip_ffn_down: bool = True, skip: Sequence[str] = ("head",)):
    """Dynamic int8 quantization (:func:`torch.ao.quantization.quantize_dynamic`) of Linear layers.

    Feed-forward output (down) projections stay float32 when ``skip_ffn_down`` (measured on
    e5-small: int8 everywhere gives embeddings at cosine ~0.96 to float32; keeping the FFN
    down projections in float32 keeps 0.993-0.998), and so do modules whose name starts
    with one of ``skip`` (the classification head). CPU only; returns a new module.
    """
    import torch

    names = {n for n, m in module.named_modules()
             if isinstance(m, torch.nn.Linear)
             and not (skip_ffn_down and _is_ffn_down(n))
             and not any(n == s or n.startswith(s + ".") for s in skip)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # quantize_dynamic's deprecation notice
        from torch.ao.quantization import quantize_dynamic

        return quantize_dynamic(module, qconfig_spec=names, dtype=torch.qint8, inplace=False)
