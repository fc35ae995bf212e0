"""Transformer topic models and transformer embedding features.

Two ways to put a pretrained encoder (``multilingual-e5-small`` by default, or any local
BERT/RoBERTa-style folder, see :func:`topicclf.encoders.resolve_encoder`) to work:

* :class:`TransformerTopicClassifier` -- the encoder fine-tuned with a linear head over
  mean-pooled token states (:func:`train_transformer`, ``topicclf train --model-type
  transformer``). Single-label (softmax, cross-entropy) or multi-label (sigmoids, binary
  cross-entropy, one threshold per label chosen on a validation split). Long articles are
  cut into overlapping token windows; each window is scored and the article's scores are
  the ``"mean"`` or ``"max"`` of its windows' scores.
* :class:`EmbeddingFeaturizer` -- a scikit-learn transformer from texts to frozen,
  L2-normalised encoder embeddings (:class:`topicclf.encoders.Encoder`, with its on-disk
  cache), to feed a :class:`~topicclf.linear.LinearTopicClassifier` alone or next to TF-IDF
  features in a :class:`~sklearn.pipeline.FeatureUnion`.

A fine-tuned model is a normal topicclf model directory (``topicclf.load(dir)`` works)::

    config.json, weights.safetensors (head), vocab.json, README.md, manifest.json
    encoder/config.json, encoder/model.safetensors, encoder/tokenizer.json, ...

``encoder/`` is a complete Hugging Face folder (usable offline, alone, as a ``base_model``
again); its weights are float16 when that changes no score by more than 1e-3 (checked at
the end of training), else float32. For e5 that folder is ~235 MB (float16): keep such
models in a user directory, not in a repository. Loading verifies the SHA-256 of every
file and runs no pickle.

The text gate is :class:`~topicclf.model.TopicClassifier`'s: empty, boilerplate-only, too
short and unsupported-language texts get no labels, zero scores and a flag.

Torch and transformers are imported when needed; thread counts are left to the caller
(``torch.set_num_threads``).

Example:
    >>> clf = train_transformer(texts, labels, base_model="multilingual-e5-small",
    ...                         epochs=3, max_length=256)            # doctest: +SKIP
    >>> clf.save("models/my-e5")                                     # doctest: +SKIP
    >>> topicclf.load("models/my-e5").classify(["Bài báo ..."])      # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import math
import os
import random
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from .encoders import E5_ALIASES, Encoder, resolve_encoder, window_token_ids
from .model import TopicClassifier

__all__ = [
    "EmbeddingFeaturizer",
    "TransformerTopicClassifier",
    "WINDOW_POOLINGS",
    "quantize_linear_layers",
    "train_transformer",
    "train_transformer_file",
]

log = logging.getLogger("topicclf.transformer")

WINDOW_POOLINGS = ("mean", "max")
_ENCODER_DIR = "encoder"
_FP16_TOLERANCE = 1e-3


# ------------------------------------------------------------------------- helpers
def _torch():
    import torch

    return torch


@contextlib.contextmanager
def _quiet_transformers():
    """Silence transformers' load reports ("newly initialized", unused pooler weights)."""
    from transformers.utils import logging as hf_logging

    level, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()


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
    torch = _torch()
    names = {n for n, m in module.named_modules()
             if isinstance(m, torch.nn.Linear)
             and not (skip_ffn_down and _is_ffn_down(n))
             and not any(n == s or n.startswith(s + ".") for s in skip)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # quantize_dynamic's deprecation notice
        from torch.ao.quantization import quantize_dynamic

        return quantize_dynamic(module, qconfig_spec=names, dtype=torch.qint8, inplace=False)


def _load_base_encoder(path: Path):
    from transformers import AutoModel

    with _quiet_transformers():
        try:  # e5 has no pooler; a fresh random one would only be dead weight
            return AutoModel.from_pretrained(path, add_pooling_layer=False)
        except TypeError:
            return AutoModel.from_pretrained(path)


def _encoder_from_config(config):
    import transformers
    from transformers import AutoModel

    torch = _torch()
    kw = {"dtype" if int(transformers.__version__.split(".")[0]) >= 5 else "torch_dtype": torch.float32}
    with _quiet_transformers():
        try:
            return AutoModel.from_config(config, add_pooling_layer=False, **kw)
        except TypeError:
            return AutoModel.from_config(config, **kw)


@functools.lru_cache(maxsize=1)
def _window_model_class():
    torch = _torch()

    class WindowClassifier(torch.nn.Module):
        """Encoder -> mean pooling over the attention mask -> dropout -> Linear head."""

        def __init__(self, encoder, n_labels: int, dropout: float = 0.1):
            super().__init__()
            self.encoder = encoder
            self.dropout = torch.nn.Dropout(dropout)
            self.head = torch.nn.Linear(int(encoder.config.hidden_size), n_labels)
            torch.nn.init.normal_(self.head.weight, std=0.02)
            torch.nn.init.zeros_(self.head.bias)

        def forward(self, input_ids, attention_mask):
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            m = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)
            return self.head(self.dropout(pooled.float()))

    return WindowClassifier


class _Windower:
    """Text -> token windows for one tokenizer (the same framing as :class:`Encoder`)."""

    def __init__(self, tokenizer, max_length: int, stride: int | None, prefix: str,
                 max_windows: int | None = None):
        self.tokenizer, self.max_length, self.stride = tokenizer, int(max_length), stride
        self.prefix, self.max_windows = prefix, max_windows
        probe = tokenizer("a", add_special_tokens=False)["input_ids"]
        full = tokenizer("a")["input_ids"]
        at = next((i for i in range(len(full)) if full[i:i + len(probe)] == probe), 0)
        self.cls = full[at - 1] if at >= 1 else None
        self.sep = full[at + len(probe)] if at + len(probe) < len(full) else None
        self.pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self.prefix_ids = (tokenizer(prefix.rstrip(), add_special_tokens=False)["input_ids"]
                           if prefix.strip() else [])
        window_token_ids([], self.max_length, stride, self.cls, self.sep, self.prefix_ids)  # checks

    def __call__(self, texts: Sequence[str], limit: int | None = None) -> list[list[list[int]]]:
        """Windows per text; ``limit`` keeps that many, evenly spread (first and last kept)."""
        limit = limit if limit is not None else self.max_windows
        ids = self.tokenizer([self.prefix + t for t in texts], add_special_tokens=False,
                             verbose=False)["input_ids"] if texts else []
        out = []
        p = self.prefix_ids
        for seq in ids:
            pre: list[int] = []
            if p and seq[:len(p)] == p:  # the prefix goes into every window
                seq, pre = seq[len(p):], p
            ws = window_token_ids(seq, self.max_length, self.stride, self.cls, self.sep, pre)
            if limit and len(ws) > limit:
                keep = np.unique(np.linspace(0, len(ws) - 1, limit).round().astype(int))
                ws = [ws[k] for k in keep]
            out.append(ws)
        return out


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))


def pool_windows(window_probs: np.ndarray, counts: Sequence[int], how: str, multilabel: bool) -> np.ndarray:
    """Article scores from window scores (rows grouped by ``counts``).

    ``"mean"``: the average of the windows' scores. ``"max"``: per label the highest
    window score; single-label rows are renormalised to sum to 1 (so the argmax is the
    label some window is most sure of).

    >>> p = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    >>> pool_windows(p, [2, 1], "mean", True).round(2).tolist()
    [[0.55, 0.45], [0.6, 0.4]]
    >>> pool_windows(p, [2, 1], "max", True).round(2).tolist()
    [[0.9, 0.8], [0.6, 0.4]]
    >>> pool_windows(p, [2, 1], "max", False).round(3).tolist()
    [[0.529, 0.471], [0.6, 0.4]]
    """
    if how not in WINDOW_POOLINGS:
        raise ValueError(f"window_pooling must be one of {WINDOW_POOLINGS}, got {how!r}")
    K = window_probs.shape[1] if window_probs.ndim == 2 else 0
    out = np.zeros((len(counts), K))
    row = 0
    for i, c in enumerate(counts):
        block = window_probs[row:row + c]
        row += c
        if c == 0:
            continue
        out[i] = block.max(0) if how == "max" else block.mean(0)
    if how == "max" and not multilabel and len(out):
        out /= np.maximum(out.sum(1, keepdims=True), 1e-12)
    return out


def _best_thresholds(P: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Per label, the F1-maximising threshold on validation scores (0.5 without positives)."""
    from .linear import _best_f1_threshold

    thr = np.full(Y.shape[1], 0.5)
    for k in range(Y.shape[1]):
        if Y[:, k].any() and not Y[:, k].all():
            thr[k] = _best_f1_threshold(P[:, k], Y[:, k])
    return thr


def _macro_f1(Y: np.ndarray, Pred: np.ndarray) -> float:
    from .evaluate import classification_metrics

    return float(classification_metrics(Y, Pred, [str(i) for i in range(Y.shape[1])])["macro_f1"])


def _segment(text: str, lang: str) -> str:
    if lang != "vi":
        return text
    from .tokenize import tokenize

    return " ".join(tokenize(text, lang="vi"))


class _Head:
    """What :class:`TopicClassifier` and :func:`topicclf.evaluate` read as ``.estimator``."""

    def __init__(self, classes: Sequence[str], multilabel: bool, thresholds: Sequence[float]):
        self.classes_ = np.asarray([str(c) for c in classes], dtype=object)
        self.multilabel_ = bool(multilabel)
        self.thresholds_ = np.asarray(thresholds, dtype=np.float64)


# ----------------------------------------------------------------------- the model
class TransformerTopicClassifier(TopicClassifier):
    """A fine-tuned encoder with a linear head, scoring long texts window by window.

    Parameters
    ----------
    model : the torch module (``encoder``, ``dropout``, ``head``) from :func:`train_transformer`
    tokenizer : its Hugging Face tokenizer
    labels : label names, in output order
    multilabel : sigmoid per label (True) or softmax over labels (False)
    thresholds_by_pooling : ``{"mean": [...], "max": [...]}`` multi-label thresholds chosen
        on the validation split for each window pooling
    max_length, stride, max_windows : window size in tokens (special tokens and prefix
        included), step between window starts (``None``: half a window) and the most
        windows scored per text (``None``: all; else evenly spread, first and last kept)
    window_pooling : ``"mean"`` or ``"max"`` of window scores; may be changed after
        loading (the thresholds follow)
    prefix : prepended to every window (``"passage: "`` for e5)
    segment_words : feed Vietnamese text word-segmented (``chủ_quyền``), for PhoBERT-style
        checkpoints pretrained on segmented text
    batch_size, device : inference batch (windows) and torch device
    languages, max_chars, min_tokens, meta : as for :class:`TopicClassifier`
    """

    def __init__(self, model, tokenizer, labels: Sequence[str], multilabel: bool,
                 thresholds_by_pooling: dict[str, Sequence[float]] | None = None, *,
                 max_length: int = 256, stride: int | None = None, max_windows: int | None = None,
                 window_pooling: str = "mean", prefix: str = "", segment_words: bool = False,
                 batch_size: int = 16, device: str = "cpu", languages: Sequence[str] = ("vi", "en"),
                 max_chars: int = 100_000, min_tokens: int = 3, meta: dict | None = None):
        super().__init__(None, languages=languages, max_chars=max_chars, min_tokens=min_tokens, meta=meta)
        K = len(labels)
        default = [0.5] * K if multilabel else [0.0] * K
        self.thresholds_by_pooling = {p: [float(t) for t in (thresholds_by_pooling or {}).get(p, default)]
                                      for p in WINDOW_POOLINGS}
        self._head = _Head(labels, multilabel, default)
        self.model, self.tokenizer = model, tokenizer
        self.segment_words, self.batch_size = bool(segment_words), int(batch_size)
        self.device = device
        self.windower = _Windower(tokenizer, max_length, stride, prefix, max_windows)
        self.window_pooling = window_pooling
        self.quantized = False
        self.model.eval()

    # -- properties -------------------------------------------------------------
    @property
    def estimator(self):
        return self._head

    @property
    def window_pooling(self) -> str:
        return self._window_pooling

    @window_pooling.setter
    def window_pooling(self, how: str) -> None:
        if how not in WINDOW_POOLINGS:
            raise ValueError(f"window_pooling must be one of {WINDOW_POOLINGS}, got {how!r}")
        self._window_pooling = how
        if self.multilabel:
            self._head.thresholds_ = np.asarray(self.thresholds_by_pooling[how], dtype=np.float64)

    @property
    def max_length(self) -> int:
        return self.windower.max_length

    def __repr__(self) -> str:
        kind = "multi-label" if self.multilabel else "single-label"
        return (f"TransformerTopicClassifier(name={self.name!r}, {kind}, labels={self.labels}, "
                f"base={self.meta.get('transformer', {}).get('base_model')!r}, "
                f"window_pooling={self.window_pooling!r}, languages={self.languages})")

    # -- scoring ------------------------------------------------------------------
    def _model_texts(self, clean: Sequence[str], langs: Sequence[str]) -> list[str]:
        """What the tokenizer sees: normalised text, word-segmented if ``segment_words``."""
        if not self.segment_words:
            return list(clean)
        return [_segment(t, l) for t, l in zip(clean, langs)]

    def token_windows(self, texts: Iterable[str]) -> list[list[list[int]]]:
        """Model inputs (token ids per window) per text; ``[]`` for a flagged text."""
        clean, langs, flags = self.prepare(texts)
        ok = [i for i, f in enumerate(flags) if self._scored(f)]
        wins = self.windower(self._model_texts([clean[i] for i in ok], [langs[i] for i in ok]))
        out: list[list[list[int]]] = [[] for _ in clean]
        for i, w in zip(ok, wins):
            out[i] = w
        return out

    def _window_logits(self, windows: Sequence[Sequence[int]]) -> np.ndarray:
        torch = _torch()
        out = np.zeros((len(windows), len(self.labels)), dtype=np.float64)
        order = sorted(range(len(windows)), key=lambda j: len(windows[j]))  # less padding
        self.model.eval()
        with torch.inference_mode():
            for s in range(0, len(order), self.batch_size):
                batch = order[s:s + self.batch_size]
                ids, mask = _pad([windows[j] for j in batch], self.windower.pad)
                logits = self.model(ids.to(self.device), mask.to(self.device))
                out[batch] = logits.float().cpu().numpy()
        return out

    def _window_probs(self, windows) -> np.ndarray:
        Z = self._window_logits(windows)
        return _sigmoid(Z) if self.multilabel else _softmax(Z)

    def window_scores(self, texts: Iterable[str]) -> list[np.ndarray]:
        """Per text, the scores of each of its windows ``(n_windows, n_labels)``."""
        wins = self.token_windows(texts)
        flat = [w for ws in wins for w in ws]
        P = self._window_probs(flat) if flat else np.zeros((0, len(self.labels)))
        out, row = [], 0
        for ws in wins:
            out.append(P[row:row + len(ws)])
            row += len(ws)
        return out

    def _score(self, clean, langs, flags) -> np.ndarray:
        P = np.zeros((len(clean), len(self.labels)))
        ok = [i for i, f in enumerate(flags) if self._scored(f)]
        if ok:
            wins = self.windower(self._model_texts([clean[i] for i in ok], [langs[i] for i in ok]))
            flat = [w for ws in wins for w in ws]
            P[ok] = pool_windows(self._window_probs(flat), [len(ws) for ws in wins],
                                 self.window_pooling, self.multilabel)
        return P

    def explain(self, text: str, top_k: int = 10, labels=None):
        raise NotImplementedError("explanations are available for linear models only; "
                                  "inspect window_scores() to see which part of a text drove a label")

    # -- speed ---------------------------------------------------------------------
    def quantize(self) -> "TransformerTopicClassifier":
        """Dynamic int8 Linear layers except the FFN down projections and the head (CPU)."""
        if not self.quantized:
            if str(self.device) != "cpu":
                raise ValueError("dynamic int8 quantization runs on the CPU only")
            self.model = quantize_linear_layers(self.model).eval()
            self.quantized = True
        return self

    # -- persistence ---------------------------------------------------------------
    def config(self) -> dict:
        tf = dict(self.meta.get("transformer", {}))
        tf.update({"max_length": self.windower.max_length, "stride": self.windower.stride,
                   "max_windows": self.windower.max_windows, "window_pooling": self.window_pooling,
                   "prefix": self.windower.prefix, "segment_words": self.segment_words,
                   "batch_size": self.batch_size,
                   "hidden_size": int(self.model.encoder.config.hidden_size)})
        return {
            **{k: v for k, v in self.meta.items() if k not in ("format_version", "versions", "transformer")},
            "model_type": "transformer",
            "labels": self.labels,
            "multilabel": self.multilabel,
            "thresholds": self.thresholds,
            "thresholds_by_pooling": self.thresholds_by_pooling,
            "languages": self.languages,
            "preprocessing": {"normalize": "topicclf.normalize", "max_chars": self.max_chars,
                              "min_tokens": self.min_tokens, "segment_words": self.segment_words,
                              "prefix": self.windower.prefix},
            "vectorizer": {"type": "token windows (encoder/tokenizer.json)", "max_length": tf["max_length"],
                           "stride": tf["stride"] or "half a window", "window_pooling": tf["window_pooling"],
                           "max_windows": tf["max_windows"]},
            "transformer": tf,
        }

    def save(self, path, card_extra: str = "", extra_files: dict[str, bytes] | None = None) -> Path:
        """Save as a model directory; the encoder goes to ``encoder/`` (a Hugging Face folder)."""
        from safetensors.torch import save as st_save

        from .modelcard import model_card
        from .serialization import library_versions, save_model_dir

        if self.quantized:
            raise ValueError("a quantized model cannot be saved: save the float model and pass "
                             "quantize=True when loading it")
        torch = _torch()
        config = self.config()
        dtype = {"float16": torch.float16, "float32": torch.float32}[config["transformer"].get("weights_dtype", "float32")]
        enc = self.model.encoder
        state = {k: (v.detach().to("cpu", dtype) if v.is_floating_point() else v.detach().cpu()).contiguous().clone()
                 for k, v in enc.state_dict().items()}
        files = {f"{_ENCODER_DIR}/model.safetensors": st_save(state, metadata={"format": "pt"})}
        enc_cfg = json.loads(enc.config.to_json_string())
        enc_cfg["dtype"] = config["transformer"].get("weights_dtype", "float32")
        enc_cfg.pop("torch_dtype", None)
        files[f"{_ENCODER_DIR}/config.json"] = (json.dumps(enc_cfg, indent=2) + "\n").encode()
        with tempfile.TemporaryDirectory() as tmp:
            self.tokenizer.save_pretrained(tmp)
            for f in sorted(Path(tmp).rglob("*")):
                if f.is_file():
                    files[f"{_ENCODER_DIR}/{f.relative_to(tmp).as_posix()}"] = f.read_bytes()
        del state
        head = self.model.head
        arrays = {"head.weight": head.weight.detach().cpu().float().numpy(),
                  "head.bias": head.bias.detach().cpu().float().numpy()}
        size_mb = sum(len(b) for b in files.values()) / 1e6
        card = model_card({**config, "versions": library_versions()}, extra=_card_section(config, size_mb)
                          + ("\n\n" + card_extra if card_extra else ""))
        return save_model_dir(path, config, arrays, {}, card, {**files, **(extra_files or {})})

    @classmethod
    def load(cls, path, *, quantize: bool = False, device: str = "cpu",
             window_pooling: str | None = None, batch_size: int | None = None) -> "TransformerTopicClassifier":
        """Load a saved model directory (checksums verified). ``quantize=True``: int8 on CPU."""
        from safetensors.torch import load_file
        from transformers import AutoConfig, AutoTokenizer

        from .serialization import ModelFileError, load_model_dir

        torch = _torch()
        path = Path(path)
        config, arrays, _ = load_model_dir(path)
        if config.get("model_type") != "transformer":
            raise ModelFileError(f"{path}: not a transformer model (model_type {config.get('model_type')!r})")
        enc_dir = path / _ENCODER_DIR
        try:
            tf = config["transformer"]
            labels, multi = config["labels"], bool(config["multilabel"])
            W, b = arrays["head.weight"], arrays["head.bias"]
        except KeyError as e:
            raise ModelFileError(f"{path}: config or weights lack {e}") from None
        if W.shape != (len(labels), tf.get("hidden_size", W.shape[1])) or b.shape != (len(labels),):
            raise ModelFileError(f"{path}: head weights {W.shape} do not match {len(labels)} labels")
        with _quiet_transformers():
            tokenizer = AutoTokenizer.from_pretrained(enc_dir)
            enc_config = AutoConfig.from_pretrained(enc_dir)
        encoder = _encoder_from_config(enc_config)
        state = {k: (v.float() if v.is_floating_point() else v)
                 for k, v in load_file(str(enc_dir / "model.safetensors")).items()}
        try:
            encoder.load_state_dict(state, strict=True)
        except RuntimeError as e:
            raise ModelFileError(f"{enc_dir}: encoder weights do not fit its config ({str(e)[:300]})") from None
        model = _window_model_class()(encoder, len(labels), float(tf.get("dropout", 0.1)))
        with torch.no_grad():
            model.head.weight.copy_(torch.from_numpy(np.asarray(W, np.float32)))
            model.head.bias.copy_(torch.from_numpy(np.asarray(b, np.float32)))
        model = model.float().to(device).eval()
        pre = config.get("preprocessing", {})
        clf = cls(model, tokenizer, labels, multi, config.get("thresholds_by_pooling"),
                  max_length=tf["max_length"], stride=tf.get("stride"), max_windows=tf.get("max_windows"),
                  window_pooling=window_pooling or tf.get("window_pooling", "mean"),
                  prefix=pre.get("prefix", tf.get("prefix", "")), segment_words=pre.get("segment_words", False),
                  batch_size=batch_size or tf.get("batch_size", 16), device=device,
                  languages=config["languages"], max_chars=pre.get("max_chars", 100_000),
                  min_tokens=pre.get("min_tokens", 3), meta=config)
        if quantize:
            clf.quantize()
        return clf


def _card_section(config: dict, size_mb: float) -> str:
    tf = config["transformer"]
    lines = ["## Transformer", "",
             f"- base encoder: `{tf.get('base_model')}`, fine-tuned with a linear head over mean-pooled "
             f"token states; embedding matrix {'frozen' if tf.get('freeze_embeddings') else 'trained'}",
             f"- windows of {tf['max_length']} tokens, stride {tf.get('stride') or 'half a window'}, "
             f"article score = {tf['window_pooling']} of window scores"
             + (f", at most {tf['max_windows']} windows" if tf.get("max_windows") else ""),
             "- input: `topicclf.normalize`d text" + (", Vietnamese word-segmented" if tf.get("segment_words") else "")
             + (f", prefix `{tf['prefix']}`" if tf.get("prefix") else ""),
             f"- `encoder/`: a Hugging Face folder ({tf.get('weights_dtype', 'float32')} weights, "
             f"{size_mb:.0f} MB); `weights.safetensors` holds the head (float32).",
             "- load with `topicclf.load(dir)`; "
             "`TransformerTopicClassifier.load(dir, quantize=True)` for int8 CPU inference"]
    return "\n".join(lines)


def _pad(seqs: Sequence[Sequence[int]], pad_id: int):
    torch = _torch()
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), int(pad_id), dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for r, s in enumerate(seqs):
        ids[r, :len(s)] = torch.tensor(list(s), dtype=torch.long)
        mask[r, :len(s)] = 1
    return ids, mask


# ----------------------------------------------------------------------- training
def _split(n: int, y_single, multi: bool, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    idx = np.arange(n)
    n_val = int(round(n * val_fraction))
    if val_fraction <= 0 or n_val < 1 or n - n_val < 2:
        return idx, idx[:0]
    from sklearn.model_selection import train_test_split

    strat = None
    if not multi:
        counts = Counter(y_single)
        if min(counts.values()) >= 2 and n_val >= len(counts):
            strat = y_single
    tr, va = train_test_split(idx, test_size=n_val, random_state=seed, stratify=strat)
    return np.sort(tr), np.sort(va)


def _class_weights(Y: np.ndarray, multi: bool, class_weight, classes, max_pos_weight: float):
    """Per-class CE weights (single-label) or BCE ``pos_weight`` (multi-label), or None."""
    if class_weight is None:
        return None
    n = len(Y)
    pos = Y.sum(0).astype(float)
    if isinstance(class_weight, dict):
        unknown = set(class_weight) - {str(c) for c in classes}
        if unknown:
            raise ValueError(f"class_weight names unknown labels {sorted(unknown)}")
        return np.array([float(class_weight.get(str(c), 1.0)) for c in classes])
    if class_weight != "balanced":
        raise ValueError(f"class_weight must be None, 'balanced' or a dict, got {class_weight!r}")
    if multi:
        w = np.where(pos > 0, (n - pos) / np.maximum(pos, 1), 1.0)
        return np.clip(w, 1.0 / max_pos_weight, max_pos_weight)
    present = (pos > 0).sum()
    return np.where(pos > 0, n / (present * np.maximum(pos, 1)), 1.0)


def _seed_everything(seed: int) -> None:
    torch = _torch()
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _bucketed_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled batches of rows with similar lengths (less padding on CPU)."""
    perm = rng.permutation(len(lengths))
    chunk = batch_size * 50
    batches = []
    for s in range(0, len(perm), chunk):
        part = perm[s:s + chunk]
        part = part[np.argsort(lengths[part], kind="stable")]
        batches += [part[i:i + batch_size] for i in range(0, len(part), batch_size)]
    order = rng.permutation(len(batches))
    return [batches[i] for i in order]


def _window_dataset(texts: Sequence[str], Y: np.ndarray, windower: _Windower, limit: int | None):
    """A ``datasets.Dataset`` of windows: one row per window, ``article`` = the text's index.

    Built with ``map(batched=True)`` that returns more rows than it is given; every window
    of an article carries the article's targets and a weight of 1 / (its window count), so
    that each article weighs the same in the loss.
    """
    import datasets

    datasets.disable_progress_bars()
    ds = datasets.Dataset.from_dict({"text": list(texts), "article": list(range(len(texts))),
                                     "y": Y.astype(np.float32).tolist()})

    def explode(batch):
        out = {"input_ids": [], "article": [], "y": [], "weight": [], "length": []}
        for wins, a, y in zip(windower(batch["text"], limit=limit), batch["article"], batch["y"]):
            for w in wins:
                out["input_ids"].append(w)
                out["article"].append(a)
                out["y"].append(y)
                out["weight"].append(1.0 / len(wins))
                out["length"].append(len(w))
        return out

    return ds.map(explode, batched=True, batch_size=256, remove_columns=ds.column_names,
                  keep_in_memory=True, load_from_cache_file=False)


def train_transformer(texts: Sequence[str], labels, *, base_model: str | os.PathLike = "multilingual-e5-small",
                      label_set: Sequence[str] | None = None, languages: Sequence[str] | None = None,
                      epochs: int = 3, max_length: int = 256, stride: int | None = None,
                      max_windows: int | None = None, max_train_windows: int | None = 4,
                      window_pooling: str = "mean", batch_size: int = 16, lr: float = 5e-5,
                      head_lr: float = 1e-3, weight_decay: float = 0.01, warmup_ratio: float = 0.1,
                      dropout: float = 0.1, class_weight="balanced", max_pos_weight: float = 10.0,
                      freeze_embeddings: bool = True, val_fraction: float = 0.1,
                      val_texts: Sequence[str] | None = None, val_labels=None, patience: int = 2,
                      monitor: str = "loss", segment_words: bool = False, prefix: str | None = None,
                      weights_dtype: str = "auto", max_steps: int | None = None, seed: int = 0,
                      name: str = "transformer", device: str = "cpu", max_chars: int = 100_000,
                      min_tokens: int = 3, meta: dict | None = None,
                      log_every: int = 0) -> TransformerTopicClassifier:
    """Fine-tune ``base_model`` on raw texts; returns a :class:`TransformerTopicClassifier`.

    ``labels``: one label per text (single-label) or a list per text (multi-label, may be
    empty). A seeded ``val_fraction`` of the records (stratified for single-label) is held
    out -- or ``val_texts``/``val_labels`` are used -- for early stopping (``monitor``
    ``"loss"`` or ``"macro_f1"``, ``patience`` epochs; the best epoch's weights are kept),
    the multi-label thresholds and the float16 check. Training rows are token windows
    (``max_train_windows`` per article at most, evenly spread; ``None``: all), each article
    weighing the same; ``class_weight="balanced"`` weighs the cross-entropy by inverse class
    frequency (single-label) or sets BCE ``pos_weight`` = negatives / positives, clipped to
    ``[1/max_pos_weight, max_pos_weight]`` (multi-label). ``freeze_embeddings`` keeps the
    word-embedding matrix fixed (96M of e5-small's 118M parameters). ``prefix=None`` means
    ``"passage: "`` for e5, else none. ``weights_dtype``: ``"auto"`` stores float16 when no
    validation score moves by more than 1e-3, else float32. ``max_steps`` stops early (for
    smoke tests). Progress goes to the ``topicclf.transformer`` logger (INFO: one line per
    epoch, and every ``log_every`` steps). Thread counts are left to the caller.
    """
    from transformers import AutoTokenizer

    from .data import validate
    from .lang import detect_language
    from .linear import encode_targets
    from .text import normalize

    torch = _torch()
    if window_pooling not in WINDOW_POOLINGS:
        raise ValueError(f"window_pooling must be one of {WINDOW_POOLINGS}, got {window_pooling!r}")
    if monitor not in ("loss", "macro_f1"):
        raise ValueError(f"monitor must be 'loss' or 'macro_f1', got {monitor!r}")
    if weights_dtype not in ("auto", "float16", "float32"):
        raise ValueError(f"weights_dtype must be 'auto', 'float16' or 'float32', got {weights_dtype!r}")
    if epochs < 1:
        raise ValueError("epochs must be >= 1")
    t_start = time.time()
    recs = validate(list(texts), list(labels), [str(i) for i in range(len(texts))], labels=label_set,
                    source="training data")
    _seed_everything(seed)
    clean = [normalize(t[:max_chars]) for t in recs.texts]
    langs = [detect_language(t).lang if t else "und" for t in clean]
    if languages is None:
        counts = Counter(langs)
        languages = sorted(l for l, c in counts.items() if c >= 0.02 * len(clean) and l != "und")
    Y, classes, multi = encode_targets(recs.labels, list(label_set) if label_set else None)
    if multi and (Y.sum(0) == 0).any():
        missing = [str(c) for c, n in zip(classes, Y.sum(0)) if n == 0]
        raise ValueError(f"labels with no positive training example: {missing}")
    K = len(classes)

    # splits
    if val_texts is not None:
        vrecs = validate(list(val_texts), list(val_labels), [f"v{i}" for i in range(len(val_texts))],
                         labels=list(classes), source="validation data")
        if vrecs.multilabel != multi:
            raise ValueError("validation labels must be of the training labels' kind "
                             "(label lists for multi-label, one label each for single-label)")
        v_clean = [normalize(t[:max_chars]) for t in vrecs.texts]
        v_langs = [detect_language(t).lang if t else "und" for t in v_clean]
        Yv = encode_targets(vrecs.labels, list(classes))[0]
        tr_idx = np.arange(len(clean))
    else:
        tr_idx, va_idx = _split(len(clean), None if multi else list(Y.argmax(1)), multi, val_fraction, seed)
        v_clean, v_langs, Yv = [clean[i] for i in va_idx], [langs[i] for i in va_idx], Y[va_idx]
    t_clean, t_langs, Yt = [clean[i] for i in tr_idx], [langs[i] for i in tr_idx], Y[tr_idx]
    if not multi and (Yt.sum(0) > 0).sum() < 2:
        raise ValueError("single-label training needs at least two classes with examples")

    cw = _class_weights(Yt, multi, class_weight, classes, max_pos_weight)  # fails fast on a bad value

    # encoder, tokenizer, windows
    path = resolve_encoder(base_model)
    if prefix is None:
        prefix = "passage: " if (str(base_model).strip().lower() in E5_ALIASES
                                 or "e5" in Path(path).name.lower()) else ""
    with _quiet_transformers():
        tokenizer = AutoTokenizer.from_pretrained(path)
    encoder = _load_base_encoder(path)
    limit = getattr(encoder.config, "max_position_embeddings", None)
    if limit and encoder.config.model_type in ("roberta", "xlm-roberta", "camembert"):
        limit -= 2  # RoBERTa positions start after the padding index
    if limit and max_length > limit:
        raise ValueError(f"max_length={max_length} exceeds the model's {limit} positions")
    windower = _Windower(tokenizer, max_length, stride, prefix, max_windows)
    _seed_everything(seed)  # the head's initialisation does not depend on loading order
    model = _window_model_class()(encoder, K, dropout).to(device)
    if freeze_embeddings:
        model.encoder.get_input_embeddings().weight.requires_grad_(False)
    clf = TransformerTopicClassifier(model, tokenizer, list(classes), multi, None, max_length=max_length,
                                     stride=stride, max_windows=max_windows, window_pooling=window_pooling,
                                     prefix=prefix, segment_words=segment_words, batch_size=batch_size,
                                     device=device, languages=languages, max_chars=max_chars,
                                     min_tokens=min_tokens, meta={"name": name})
    train_inputs = clf._model_texts(t_clean, t_langs)
    val_inputs = clf._model_texts(v_clean, v_langs)
    ds = _window_dataset(train_inputs, Yt, windower, max_train_windows)
    cols = ds.to_dict()  # plain lists: one read of the Arrow table, no per-row lookups
    ids_col, y_col = cols["input_ids"], np.asarray(cols["y"], dtype=np.float32).reshape(-1, K)
    w_col, len_col = np.asarray(cols["weight"], dtype=np.float32), np.asarray(cols["length"])
    val_windows = windower(val_inputs)
    val_counts = [len(w) for w in val_windows]
    val_flat = [w for ws in val_windows for w in ws]

    # loss, optimiser, schedule
    cw_t = None if cw is None else torch.tensor(cw, dtype=torch.float32, device=device)
    if multi:
        loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=cw_t, reduction="none")
    else:
        loss_fn = torch.nn.CrossEntropyLoss(weight=cw_t, reduction="none")
    decay, no_decay, head_params = [], [], []
    for n_, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if n_.startswith("head."):
            head_params.append(p)
        elif p.ndim < 2 or "LayerNorm" in n_ or "layer_norm" in n_:
            no_decay.append(p)
        else:
            decay.append(p)
    groups = [{"params": decay, "lr": lr, "weight_decay": weight_decay},
              {"params": no_decay, "lr": lr, "weight_decay": 0.0},
              {"params": head_params, "lr": head_lr, "weight_decay": 0.0}]
    opt = torch.optim.AdamW([g for g in groups if g["params"]])
    steps_per_epoch = math.ceil(len(ids_col) / batch_size)
    total = steps_per_epoch * epochs if max_steps is None else min(max_steps, steps_per_epoch * epochs)
    warm = int(round(total * warmup_ratio))

    def schedule(step: int) -> float:
        if step < warm:
            return (step + 1) / (warm + 1)
        return max(0.0, (total - step) / max(1, total - warm))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)
    rng = np.random.default_rng(seed)
    trainable = [n_ for n_, p in model.named_parameters() if p.requires_grad]

    def snapshot() -> dict:
        params = dict(model.named_parameters())
        return {n_: params[n_].detach().clone() for n_ in trainable}

    def evaluate_val() -> dict:
        if not val_flat:
            return {}
        Pw = clf._window_probs(val_flat)
        P = pool_windows(Pw, val_counts, window_pooling, multi)
        eps = 1e-7
        if multi:
            loss = float(-(Yv * np.log(P + eps) + (1 - Yv) * np.log(1 - P + eps)).mean())
            thr = _best_thresholds(P, Yv)
            f1 = _macro_f1(Yv, (P >= thr).astype(int))
            return {"loss": loss, "macro_f1": f1}
        yv = Yv.argmax(1)
        loss = float(-np.log(P[np.arange(len(yv)), yv] + eps).mean())
        pred = np.eye(K, dtype=int)[P.argmax(1)]
        return {"loss": loss, "macro_f1": _macro_f1(Yv, pred), "accuracy": float((P.argmax(1) == yv).mean())}

    history, best, best_state, best_epoch, bad, step = [], None, None, 0, 0, 0
    stopped = "epochs"
    for epoch in range(1, epochs + 1):
        model.train()
        running, seen = 0.0, 0.0
        for batch in _bucketed_batches(len_col, batch_size, rng):
            ids, mask = _pad([ids_col[j] for j in batch], windower.pad)
            logits = model(ids.to(device), mask.to(device))
            y = torch.from_numpy(y_col[batch]).to(device)
            w = torch.from_numpy(w_col[batch]).to(device)
            per = loss_fn(logits, y).mean(1) if multi else loss_fn(logits, y.argmax(1))
            if not multi and cw_t is not None:  # weighted CE: normalise like reduction="mean"
                per = per / cw_t[y.argmax(1)].mean()
            loss = (per * w).sum() / w.sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
            opt.step()
            sched.step()
            step += 1
            running += float(loss.detach()) * float(w.sum())
            seen += float(w.sum())
            if log_every and step % log_every == 0:
                log.info("epoch %d step %d/%d loss %.4f", epoch, step, total, running / max(seen, 1e-9))
            if max_steps is not None and step >= max_steps:
                break
        entry = {"epoch": epoch, "steps": step, "train_loss": round(running / max(seen, 1e-9), 6)}
        entry.update({f"val_{k}": round(v, 6) for k, v in evaluate_val().items()})
        history.append(entry)
        log.info("%s", json.dumps(entry))
        if val_flat:
            score = -entry["val_loss"] if monitor == "loss" else entry["val_macro_f1"]
            if best is None or score > best + 1e-6:
                best, best_state, best_epoch, bad = score, snapshot(), epoch, 0
            else:
                bad += 1
        else:
            best_epoch = epoch
        if max_steps is not None and step >= max_steps:
            stopped = "max_steps"
            break
        if val_flat and bad >= patience:
            stopped = "early_stopping"
            break
    if best_state is not None:
        with torch.no_grad():
            params = dict(model.named_parameters())
            for n_, v in best_state.items():
                params[n_].copy_(v)
    model.eval()

    # float16 or float32 storage: round the weights in memory too, so that the model in hand
    # scores exactly as the one that will be reloaded
    probe = val_flat[:64] if val_flat else [w for ws in windower(train_inputs[:16]) for w in ws][:64]
    dtype_used, fp16_diff = "float32", None
    if weights_dtype != "float32":
        before = clf._window_probs(probe)
        saved = {k: v.detach().clone() for k, v in model.encoder.state_dict().items() if v.is_floating_point()}
        with torch.no_grad():
            for k, v in model.encoder.state_dict().items():
                if v.is_floating_point():
                    v.copy_(v.to(torch.float16).to(v.dtype))
        fp16_diff = float(np.abs(clf._window_probs(probe) - before).max()) if len(probe) else 0.0
        if weights_dtype == "float16" or fp16_diff <= _FP16_TOLERANCE:
            dtype_used = "float16"
        else:
            with torch.no_grad():
                for k, v in model.encoder.state_dict().items():
                    if k in saved:
                        v.copy_(saved[k])
        del saved

    # thresholds per pooling on the validation split, with the final weights
    metrics = {}
    thresholds = {p: ([0.5] * K if multi else [0.0] * K) for p in WINDOW_POOLINGS}
    if val_flat:
        Pw = clf._window_probs(val_flat)
        for how in WINDOW_POOLINGS:
            P = pool_windows(Pw, val_counts, how, multi)
            if multi:
                thr = _best_thresholds(P, Yv)
                thresholds[how] = [float(t) for t in thr]
                m = {"macro_f1": _macro_f1(Yv, (P >= thr).astype(int)),
                     "macro_f1_at_0.5": _macro_f1(Yv, (P >= 0.5).astype(int))}
            else:
                yv = Yv.argmax(1)
                m = {"accuracy": float((P.argmax(1) == yv).mean()),
                     "macro_f1": _macro_f1(Yv, np.eye(K, dtype=int)[P.argmax(1)])}
            metrics[how] = {k: round(v, 6) for k, v in m.items()}
    clf.thresholds_by_pooling = thresholds
    clf.window_pooling = window_pooling  # sets the head's thresholds

    n_params = sum(p.numel() for p in model.parameters())
    n_train = sum(p.numel() for p in model.parameters() if p.requires_grad)
    params = {"epochs": epochs, "max_length": max_length, "stride": stride, "max_windows": max_windows,
              "max_train_windows": max_train_windows, "window_pooling": window_pooling,
              "batch_size": batch_size, "lr": lr, "head_lr": head_lr, "weight_decay": weight_decay,
              "warmup_ratio": warmup_ratio, "dropout": dropout,
              "class_weight": class_weight, "max_pos_weight": max_pos_weight,
              "freeze_embeddings": freeze_embeddings, "val_fraction": val_fraction if val_texts is None else None,
              "patience": patience, "monitor": monitor, "segment_words": segment_words, "prefix": prefix,
              "weights_dtype": weights_dtype, "max_steps": max_steps, "seed": seed}
    info = dict(meta or {})
    training = {"records": len(t_clean), "validation_records": len(v_clean), "windows": len(ids_col),
                "label_counts": dict(sorted(Counter(
                    l for v in recs.labels for l in (v if recs.multilabel else [v])).items())),
                "history": history, "best_epoch": best_epoch, "stopped": stopped, "steps": step,
                "params": params, **info.pop("training", {})}
    clf.meta = {"name": name, "seed": seed, "fit_seconds": round(time.time() - t_start, 1), **info,
                "training": training,
                "classifier": {"params": {"head": "linear over mean-pooled states", **{
                    k: params[k] for k in ("lr", "head_lr", "epochs", "class_weight", "freeze_embeddings")}}},
                "transformer": {"base_model": os.fspath(base_model), "base_model_path": str(path),
                                "architecture": type(encoder).__name__,
                                "encoder_model_type": encoder.config.model_type,
                                "dropout": dropout, "freeze_embeddings": freeze_embeddings,
                                "weights_dtype": dtype_used, "fp16_max_abs_diff": fp16_diff,
                                "parameters": int(n_params), "trainable_parameters": int(n_train)}}
    info_metrics = clf.meta.setdefault("metrics", {})
    if metrics:  # flat dicts: the model card lists numbers only
        note = "thresholds tuned on this split: optimistic" if multi else "early-stopping split"
        info_metrics["validation"] = {**metrics[window_pooling], "records": len(v_clean),
                                      "window_pooling": window_pooling, "note": note}
        other = [p for p in WINDOW_POOLINGS if p != window_pooling][0]
        info_metrics[f"validation_{other}_pooling"] = {**metrics[other], "records": len(v_clean)}
    return clf


def train_transformer_file(data, out=None, *, base_model: str | os.PathLike = "multilingual-e5-small",
                           text_field: str = "text", label_field: str | None = None,
                           label_set: Sequence[str] | None = None, name: str | None = None,
                           **params) -> TransformerTopicClassifier:
    """Train on JSONL/CSV/Parquet files (see :func:`topicclf.data.load_records`) and save to ``out``.

    The config records each file's SHA-256, the seed and the parameters.
    """
    from .data import load_training_files

    texts, labels, sources = load_training_files(data, text_field, label_field, label_set)
    name = name or (Path(out).name if out else "transformer")
    meta = {"training": {"data": sources, "text_field": text_field, "label_field": label_field}}
    clf = train_transformer(texts, labels, base_model=base_model, label_set=label_set, name=name,
                            meta=meta, **params)
    if out is not None:
        clf.save(out)
    return clf


# ------------------------------------------------------------------ embedding features
class _WindowLimitedEncoder(Encoder):
    """:class:`Encoder` that embeds only the first ``max_windows`` windows of a text and can
    run int8-quantized (both are part of the cache key)."""

    def __init__(self, *args, max_windows: int | None = None, quantize: bool = False, **kw):
        super().__init__(*args, **kw)
        self.max_windows = max_windows
        self.quantized = bool(quantize)
        if self.quantized:
            self.model = quantize_linear_layers(self.model).eval()

    def _key(self, text: str) -> str:
        key = super()._key(text)
        if self.max_windows or self.quantized:  # other settings, other cache entries
            extra = json.dumps([self.max_windows, "int8-ffn-down-fp32" if self.quantized else None])
            key = hashlib.sha256((key + extra).encode()).hexdigest()
        return key

    def token_windows(self, texts):
        wins = super().token_windows(texts)
        return [ws[:self.max_windows] for ws in wins] if self.max_windows else wins


def _default_cache_dir() -> Path:
    return Path(os.environ.get("TOPICCLF_CACHE") or Path.home() / ".cache" / "topicclf")


class EmbeddingFeaturizer(TransformerMixin, BaseEstimator):
    """Texts -> L2-normalised encoder embeddings (dense ``float32``), for scikit-learn pipelines.

    Wraps :class:`topicclf.encoders.Encoder` (mean pooling, sliding windows, NFC) with its
    SQLite embedding cache, so that refitting a head or re-running an evaluation does not
    embed a text twice. Use it alone before a
    :class:`~topicclf.linear.LinearTopicClassifier`, or next to TF-IDF features::

        FeatureUnion([("tfidf", NgramVectorizer()), ("e5", EmbeddingFeaturizer(weight=1.0))])

    Parameters
    ----------
    model : encoder name or folder (:func:`topicclf.encoders.resolve_encoder`)
    max_length, stride, window_pooling, prefix, batch_size, device : as for :class:`Encoder`
    max_windows : embed only the first ``max_windows`` windows of a text (``None``: all)
    weight : the embeddings are multiplied by this (balances them against TF-IDF columns)
    quantize : dynamic int8 Linear layers except the FFN down projections (CPU)
    cache_dir : ``"auto"`` = ``$TOPICCLF_CACHE`` or ``~/.cache/topicclf``; ``None``: no cache

    The encoder is loaded on first use and is not pickled with the featurizer.
    """

    def __init__(self, model: str = "multilingual-e5-small", *, max_length: int = 512,
                 stride: int | None = None, max_windows: int | None = None,
                 window_pooling: str = "mean", prefix: str = "passage: ", batch_size: int = 16,
                 weight: float = 1.0, quantize: bool = False, device: str = "cpu", cache_dir="auto"):
        self.model = model
        self.max_length = max_length
        self.stride = stride
        self.max_windows = max_windows
        self.window_pooling = window_pooling
        self.prefix = prefix
        self.batch_size = batch_size
        self.weight = weight
        self.quantize = quantize
        self.device = device
        self.cache_dir = cache_dir

    def _settings(self) -> tuple:
        return (os.fspath(self.model), self.max_length, self.stride, self.max_windows, self.window_pooling,
                self.prefix, self.batch_size, self.quantize, self.device, None if self.cache_dir is None else os.fspath(self.cache_dir))

    @property
    def encoder(self) -> Encoder:
        enc = self.__dict__.get("_encoder")
        if enc is None or self.__dict__.get("_encoder_settings") != self._settings():
            cache = _default_cache_dir() if self.cache_dir == "auto" else self.cache_dir
            enc = _WindowLimitedEncoder(self.model, max_length=self.max_length, stride=self.stride,
                                        window_pooling=self.window_pooling, prefix=self.prefix,
                                        batch_size=self.batch_size, device=self.device, cache_dir=cache,
                                        max_windows=self.max_windows, quantize=self.quantize)
            self.__dict__["_encoder"], self.__dict__["_encoder_settings"] = enc, self._settings()
        return enc

    def fit(self, X, y=None) -> "EmbeddingFeaturizer":
        """Nothing to learn: loads the encoder and records the output width."""
        self.n_features_out_ = int(self.encoder.dim)
        return self

    def transform(self, X) -> np.ndarray:
        from .features import _check_texts

        texts = _check_texts(X)
        return (self.encoder.encode(texts) * np.float32(self.weight)).astype(np.float32)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        n = getattr(self, "n_features_out_", None) or int(self.encoder.dim)
        return np.asarray([f"emb{i}" for i in range(n)], dtype=object)

    def __getstate__(self):
        state = dict(super().__getstate__())
        state.pop("_encoder", None)
        state.pop("_encoder_settings", None)
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.requires_fit = False
        return tags
