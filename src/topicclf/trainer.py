"""Training the ``linear`` kind: texts and labels in, a
:class:`~topicclf.classifiers.linear.NgramTopicClassifier` out.

Example:
    >>> texts = ["Đội tuyển thắng trận chung kết", "Giá vàng tăng mạnh hôm nay"] * 10
    >>> clf = train(texts, ["sport", "business"] * 10, min_df=1, cv=2)
    >>> clf.predict(["Trận chung kết tối nay"])
    [['sport']]
"""

from __future__ import annotations

import random
import time
import warnings
from collections import Counter
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
from sklearn.pipeline import Pipeline

from .data import Records, load_training_files, validate
from .features import NgramVectorizer
from .lang import detect_language
from .classifiers.linear import NgramTopicClassifier
from .linear import LinearTopicClassifier
from .text import normalize_prefix

__all__ = ["train", "train_file", "SmallDataWarning"]

SMALL_DATA = 200  # fewer training texts than this: min_df > 1 gets a warning


class SmallDataWarning(UserWarning):
    """Training settings that do not suit so few training texts."""


def train(texts: Sequence[str], labels, *, label_set: Sequence[str] | None = None,
          languages: Sequence[str] | None = None, ngram_range=(1, 2), min_df: int = 2,
          max_features: int | None = None, sublinear_tf: bool = True, digits: bool = True,
          loss: str = "squared_hinge", C: float = 0.5, class_weight=None, cv: int = 3,
          seed: int = 0, name: str = "model", max_chars: int = 100_000, min_tokens: int = 3,
          meta: dict | None = None, sample_weight=None, calibration_mask=None,
          label_descriptions: Mapping[str, str] | None = None) -> NgramTopicClassifier:
    """Fit a linear topic model on raw texts.

    ``labels``: one label per text (single-label) or a list of labels per text
    (multi-label, may be empty). ``languages``: the languages the model accepts; by default
    every language with at least 2 % of the training texts. ``sample_weight`` (per text, or
    per text and label for multi-label; 0 = ignore for that label) and ``calibration_mask``
    (the texts whose held-out scores set the calibration and thresholds) go to
    :meth:`LinearTopicClassifier.fit <topicclf.linear.LinearTopicClassifier.fit>`.
    ``label_descriptions``: what each label means (``{"sport": "matches, athletes..."}``), saved
    in ``config.json`` and shown by ``clf.label_info`` and ``topicclf info``; a model named after
    a shipped label set (``policy5``...) gets the packaged ones by default
    (:mod:`topicclf.taxonomy`).

    With few training texts, ``min_df`` > 1 drops most of the vocabulary (n-grams seen in one
    text only): a :class:`SmallDataWarning` says so; pass ``min_df=1`` then.
    """
    ids = [str(i) for i in range(len(texts))]
    recs = validate(list(texts), list(labels), ids, labels=label_set, source="training data")
    from .taxonomy import check_descriptions, packaged_descriptions

    all_labels = list(label_set) if label_set else recs.label_set()
    descriptions = (check_descriptions(label_descriptions, all_labels) if label_descriptions is not None
                    else packaged_descriptions(name, all_labels))
    if min_df > 1 and len(recs.texts) < SMALL_DATA:
        warnings.warn(f"only {len(recs.texts)} training texts: min_df={min_df} keeps only the n-grams found "
                      f"in at least {min_df} texts, which with this little data drops most words and costs "
                      "accuracy; pass min_df=1 (topicclf train --min-df 1)", SmallDataWarning, stacklevel=2)
    random.seed(seed)
    np.random.seed(seed)
    clean = [normalize_prefix(t, max_chars)[0] for t in recs.texts]  # cut after cleaning, as predict does
    if languages is None:
        counts = Counter(detect_language(t).lang for t in clean)
        languages = sorted(l for l, c in counts.items() if c >= 0.02 * len(clean) and l != "und")
    pipe = Pipeline([
        ("features", NgramVectorizer(ngram_range=tuple(ngram_range), min_df=min_df, max_features=max_features,
                                     sublinear_tf=sublinear_tf, digits=digits)),
        ("classifier", LinearTopicClassifier(loss=loss, C=C, class_weight=class_weight, cv=cv,
                                             labels=list(label_set) if label_set else None, random_state=seed)),
    ])
    t0 = time.time()
    fit_params = {}
    if sample_weight is not None:
        fit_params["classifier__sample_weight"] = sample_weight
    if calibration_mask is not None:
        fit_params["classifier__calibration_mask"] = calibration_mask
    pipe.fit(clean, recs.labels, **fit_params)
    info = {"name": name, "seed": seed, "fit_seconds": round(time.time() - t0, 1),
            "training": {"records": len(clean), "label_counts": _label_counts(recs)}}
    info["training"].update((meta or {}).pop("training", {}))
    info.update(meta or {})
    info.setdefault("metrics", {})["cv"] = pipe[-1].cv_scores_
    if descriptions and (label_descriptions is not None or "label_descriptions" not in info):
        info["label_descriptions"] = descriptions
    return NgramTopicClassifier(pipe, languages=languages, max_chars=max_chars, min_tokens=min_tokens, meta=info)


def _label_counts(recs: Records) -> dict:
    c = Counter(l for v in recs.labels for l in (v if recs.multilabel else [v]))
    return dict(sorted(c.items()))


def train_file(data, out=None, *, text_field: str = "text", label_field: str | None = None,
               label_set: Sequence[str] | None = None, name: str | None = None,
               label_descriptions: Mapping[str, str] | str | Path | None = None, overwrite: bool = False,
               **params) -> NgramTopicClassifier:
    """Train on a JSONL/CSV/Parquet file (see :func:`topicclf.data.load_records`) and save to ``out``.

    The model's config records the file's SHA-256, the seed and the parameters.
    ``label_descriptions``: a mapping, or a JSON file of one (see :func:`train`). ``overwrite``:
    also save into an existing folder that is not a model folder (see
    :func:`topicclf.serialization.save_model_dir`); it is checked before training.
    """
    if isinstance(label_descriptions, (str, Path)):
        from .taxonomy import load_descriptions_file

        label_descriptions = load_descriptions_file(label_descriptions)
    if out is not None:  # before the training, not after it
        from .serialization import check_save_target

        check_save_target(out, overwrite)
    texts, labels, sources = load_training_files(data, text_field, label_field, label_set)
    name = name or (Path(out).name if out else "model")
    meta = {"training": {"data": sources, "text_field": text_field, "label_field": label_field,
                         "params": {k: (list(v) if isinstance(v, tuple) else v) for k, v in params.items()}}}
    clf = train(texts, labels, label_set=label_set, name=name, meta=meta, label_descriptions=label_descriptions,
                **params)
    if out is not None:
        clf.save(out, overwrite=overwrite)
    return clf
