"""Fine-tuning the ``transformer`` kind (the model: :mod:`topicclf.classifiers.transformer`).

:func:`train_transformer` fine-tunes an encoder with a linear head on raw texts: articles
become token windows through ``datasets.map(batched=True)`` (one article -> several rows),
class weights balance rare labels, early stopping watches a seeded validation split, and
multi-label thresholds are chosen on that split. :func:`train_transformer_file` does the same
from labeled files and records their SHA-256.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import time
from collections import Counter
from pathlib import Path
from typing import Sequence

import numpy as np

from ..encoders import E5_ALIASES, resolve_encoder
from .transformer import (WINDOW_POOLINGS, TransformerTopicClassifier, _pad, _quiet_transformers, _torch,
                          _window_model_class, _Windower, pool_windows)

__all__ = ["train_transformer", "train_transformer_file"]

log = logging.getLogger("topicclf.transformer")

_FP16_TOLERANCE = 1e-3


# ------------------------------------------------------------------------ helpers
def _load_base_encoder(path: Path):
    from transformers import AutoModel

    with _quiet_transformers():
        try:  # e5 has no pooler; a fresh random one would only be dead weight
            return AutoModel.from_pretrained(path, add_pooling_layer=False)
        except TypeError:
            return AutoModel.from_pretrained(path)


def _best_thresholds(P: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Per label, the F1-maximising threshold on validation scores (0.5 without positives)."""
    from ..linear import _best_f1_threshold

    thr = np.full(Y.shape[1], 0.5)
    for k in range(Y.shape[1]):
        if Y[:, k].any() and not Y[:, k].all():
            thr[k] = _best_f1_threshold(P[:, k], Y[:, k])
    return thr


def _macro_f1(Y: np.ndarray, Pred: np.ndarray) -> float:
    from ..evaluate import classification_metrics

    return float(classification_metrics(Y, Pred, [str(i) for i in range(Y.shape[1])])["macro_f1"])




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


def _digest(obj) -> str:
    """SHA-256 of a JSON-able object (a checkpoint's fingerprint of its data)."""
    import hashlib

    return hashlib.sha256(json.dumps(obj, ensure_ascii=False).encode("utf-8")).hexdigest()


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
                      log_every: int = 0, checkpoint_dir: str | os.PathLike | None = None
                      ) -> TransformerTopicClassifier:
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

    ``checkpoint_dir``: the training state (trainable weights, optimiser, schedule, random
    generators, history) is written there after every epoch (safetensors + JSON, atomically),
    and a later call with the same data and settings resumes after the last finished epoch,
    with the same result as an uninterrupted run. A checkpoint from other data or settings
    is refused with an error naming the folder.
    """
    from transformers import AutoTokenizer

    from ..data import validate
    from ..lang import detect_language
    from ..linear import encode_targets
    from ..text import normalize_prefix

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
    clean = [normalize_prefix(t, max_chars)[0] for t in recs.texts]
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
        v_clean = [normalize_prefix(t, max_chars)[0] for t in vrecs.texts]
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
    stopped, first_epoch, ckpt = "epochs", 1, None
    if checkpoint_dir is not None:
        from ._checkpoint import EpochCheckpoint

        ckpt = EpochCheckpoint(checkpoint_dir, fingerprint={
            "texts": _digest(train_inputs), "labels": _digest(Yt.tolist()), "val_texts": _digest(val_inputs),
            "val_labels": _digest(Yv.tolist()), "base_model": os.fspath(base_model), "settings": [
                epochs, max_length, stride, max_windows, max_train_windows, window_pooling, batch_size, lr,
                head_lr, weight_decay, warmup_ratio, dropout, str(class_weight), max_pos_weight,
                freeze_embeddings, monitor, patience, max_steps, seed]})
        state = ckpt.load(model, opt, sched, rng)
        if state is not None:
            history, best, best_epoch, bad, step = (state["history"], state["best"], state["best_epoch"],
                                                    state["bad"], state["step"])
            best_state, first_epoch, stopped = state["best_state"], state["epoch"] + 1, state["stopped"]
            log.info("resumed from %s after epoch %d", checkpoint_dir, state["epoch"])
    for epoch in range(first_epoch, epochs + 1):
        if stopped != "epochs":  # a resumed run that had already stopped
            break
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
        elif val_flat and bad >= patience:
            stopped = "early_stopping"
        if ckpt is not None:
            ckpt.save(epoch, model, opt, sched, rng, trainable, {
                "history": history, "best": best, "best_epoch": best_epoch, "bad": bad, "step": step,
                "stopped": stopped}, best_state)
        if stopped != "epochs":
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
    from ..data import load_training_files

    texts, labels, sources = load_training_files(data, text_field, label_field, label_set)
    name = name or (Path(out).name if out else "transformer")
    meta = {"training": {"data": sources, "text_field": text_field, "label_field": label_field}}
    clf = train_transformer(texts, labels, base_model=base_model, label_set=label_set, name=name,
                            meta=meta, **params)
    if out is not None:
        clf.save(out)
    return clf
