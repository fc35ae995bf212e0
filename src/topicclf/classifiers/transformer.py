"""The ``transformer`` kind: a fine-tuned encoder with a linear head, scoring token windows.

:class:`TransformerTopicClassifier` is the encoder (``multilingual-e5-small`` by default, or any
local BERT/RoBERTa-style folder, see :func:`topicclf.encoders.resolve_encoder`) fine-tuned with
a linear head over mean-pooled token states (training:
:mod:`topicclf.classifiers.transformer_training`, ``topicclf train --model-type transformer``).
Single-label (softmax) or multi-label (sigmoids, one threshold per label chosen on a validation
split). Long articles are cut into overlapping token windows; each window is scored and the
article's scores are the ``"mean"`` or ``"max"`` of its windows' scores.

A fine-tuned model is a normal topicclf model directory (``topicclf.load(dir)`` works)::

    config.json, weights.safetensors (head), vocab.json, README.md, manifest.json
    encoder/config.json, encoder/model.safetensors, encoder/tokenizer.json, ...

``encoder/`` is a complete Hugging Face folder (usable offline, alone, as a ``base_model``
again); its weights are float16 when that changes no score by more than 1e-3 (checked at
the end of training), else float32. For e5 that folder is ~235 MB (float16): keep such
models in a user directory, not in a repository. Loading verifies the SHA-256 of every
file and runs no pickle.

The text gate is the base class's: empty, boilerplate-only, too short and
unsupported-language texts get no labels, zero scores and a flag.

Torch and transformers are imported when needed; thread counts are left to the caller
(``torch.set_num_threads``).

Example:
    >>> clf = topicclf.load("models/my-e5")                           # doctest: +SKIP
    >>> clf.window_scores(["Bài báo ..."])[0].shape                   # doctest: +SKIP
    (3, 5)
"""


from __future__ import annotations

import contextlib
import functools
import json
import logging
import tempfile
import warnings
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ..encoders.quantize import quantize_linear_layers
from ..encoders.windows import window_token_ids
from .base import TopicClassifier

__all__ = ["TransformerTopicClassifier", "WINDOW_POOLINGS", "pool_windows"]

log = logging.getLogger("topicclf.transformer")

WINDOW_POOLINGS = ("mean", "max")
_ENCODER_DIR = "encoder"


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


def _segment(text: str, lang: str) -> str:
    if lang != "vi":
        return text
    from ..tokenize import tokenize

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

    kind = "transformer"
    _THREAD_SAFE_SCORING = False  # torch has its own threads

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

    def _set_thresholds(self, new: dict[str, float]) -> None:
        """Thresholds are kept per window pooling: these apply to the current one."""
        super()._set_thresholds(new)
        self.thresholds_by_pooling[self.window_pooling] = [float(t) for t in self._head.thresholds_]

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

    def save(self, path, card_extra: str = "", extra_files: dict[str, bytes] | None = None, *,
             overwrite: bool = False, reference_base: bool = False) -> Path:
        """Save as a model directory; the encoder goes to ``encoder/`` (a Hugging Face folder).

        ``reference_base=True`` leaves out the encoder tensors that are still exactly the base
        model's (e.g. a frozen word-embedding matrix, 96M of e5-small's 118M parameters) and
        records their names and SHA-256 instead; loading takes them from the base encoder
        (:func:`topicclf.encoders.resolve_encoder`, offline for e5) and refuses a base whose
        tensors differ. Meant for ``multilingual-e5-small``, which resolves offline by name; a
        base given as a folder must stay where it was when the model is loaded.
        """
        from safetensors.torch import save as st_save

        from ..modelcard import model_card
        from ..serialization import library_versions, save_model_dir

        if self.quantized:
            raise ValueError("a quantized model cannot be saved: save the float model and pass "
                             "quantize=True when loading it")
        torch = _torch()
        config = self.config()
        dtype = {"float16": torch.float16, "float32": torch.float32}[config["transformer"].get("weights_dtype", "float32")]
        enc = self.model.encoder
        state = {k: (v.detach().to("cpu", dtype) if v.is_floating_point() else v.detach().cpu()).contiguous().clone()
                 for k, v in enc.state_dict().items()}
        if reference_base:
            from ._base_tensors import split_base_tensors

            state, config["transformer"]["base_tensors"] = split_base_tensors(
                state, config["transformer"].get("base_model"), dtype)
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
                          + ("\n\n" + card_extra if card_extra else ""), path=path)
        return save_model_dir(path, config, arrays, {}, card, {**files, **(extra_files or {})},
                              overwrite=overwrite)

    @classmethod
    def load(cls, path, *, quantize: bool = False, device: str = "cpu",
             window_pooling: str | None = None, batch_size: int | None = None) -> "TransformerTopicClassifier":
        """Load a saved model directory (checksums verified). ``quantize=True``: int8 on CPU."""
        from ..serialization import ModelFileError, load_model_dir

        path = Path(path)
        config, arrays, state = load_model_dir(path)
        if config.get("model_type") != "transformer":
            raise ModelFileError(f"{path}: not a transformer model (model_type {config.get('model_type')!r})")
        return cls.from_parts(path, config, arrays, state, quantize=quantize, device=device,
                              window_pooling=window_pooling, batch_size=batch_size)

    @classmethod
    def from_parts(cls, path, config: dict, arrays: dict, state: dict | None = None, *, load=None,
                   quantize: bool = False, device: str = "cpu", window_pooling: str | None = None,
                   batch_size: int | None = None) -> "TransformerTopicClassifier":
        """The model from its directory's parsed files; the encoder is read from ``encoder/``."""
        from safetensors.torch import load_file
        from transformers import AutoConfig, AutoTokenizer

        from ..serialization import ModelFileError

        torch = _torch()
        path = Path(path)
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
        weights = load_file(str(enc_dir / "model.safetensors"))
        if tf.get("base_tensors"):
            from ._base_tensors import base_tensors

            weights.update(base_tensors(tf["base_tensors"], path))
        weights = {k: (v.float() if v.is_floating_point() else v) for k, v in weights.items()}
        try:
            encoder.load_state_dict(weights, strict=True)
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
