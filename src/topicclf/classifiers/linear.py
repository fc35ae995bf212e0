"""The ``linear`` kind: syllable n-gram TF-IDF features and a calibrated linear model.

:class:`NgramTopicClassifier` is what :func:`topicclf.train` returns and what the shipped
``policy5`` and ``vntc10`` are. Its pipeline is a :class:`~topicclf.features.NgramVectorizer`
and a :class:`~topicclf.linear.LinearTopicClassifier`; scoring runs straight from the n-gram C
loop (no sparse matrix), and :meth:`~NgramTopicClassifier.explain` names the words behind a
label. Training lives in :mod:`topicclf.trainer`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from ..ngram_scorer import LinearHead, NgramLinearScorer
from ..serialization import ModelFileError, save_model_dir
from .base import TopicClassifier

__all__ = ["NgramTopicClassifier"]


class NgramTopicClassifier(TopicClassifier):
    """N-gram TF-IDF features + a linear model, behind the shared text pipeline.

    Parameters are those of :class:`~topicclf.classifiers.base.TopicClassifier`; ``pipeline``
    is ``Pipeline([("features", NgramVectorizer), ("classifier", LinearTopicClassifier)])``.
    """

    kind = "linear"

    # A loaded model scores from its parts (NgramLinearScorer: the C featurizer and one float32
    # table) and builds the scikit-learn pipeline only when something asks for it
    # (clf.pipeline, explain, save, the pure-Python path): loading and scoring import no
    # scikit-learn or SciPy. ``_parts`` holds what from_parts read until the pipeline is built.
    @property
    def pipeline(self):
        if self.__dict__.get("_pipeline") is None and self.__dict__.get("_parts") is not None:
            self._build_pipeline()
        return self.__dict__.get("_pipeline")

    @pipeline.setter
    def pipeline(self, value) -> None:
        self.__dict__["_pipeline"] = value
        if value is not None:
            self.__dict__["_parts"] = None

    @property
    def estimator(self):
        parts = self.__dict__.get("_parts")
        if self.__dict__.get("_pipeline") is None and parts is not None:
            return parts["head"]
        return self.pipeline[-1]

    def _build_pipeline(self) -> None:
        """The scikit-learn ``Pipeline`` from the loaded parts; the thresholds (and weights) set
        since loading carry over."""
        from sklearn.pipeline import Pipeline

        from ..features import NgramVectorizer
        from ..linear import LinearTopicClassifier

        parts = self.__dict__["_parts"]
        head = parts["head"]
        vec = NgramVectorizer.from_state(parts["vec_arrays"], parts["vec_state"])
        est = LinearTopicClassifier.from_state(
            {"coef": head.coef_, "intercept": head.intercept_, "thresholds": head.thresholds_}, head.config)
        est.coef_, est.intercept_, est.thresholds_ = head.coef_, head.intercept_, head.thresholds_
        self.pipeline = Pipeline([("features", vec), ("classifier", est)])

    def _proba(self, texts: list[str]) -> np.ndarray:
        """``pipeline.predict_proba``; for n-gram features + a linear model, the C extension
        computes the scores without building the sparse feature matrix (same numbers up to
        float32 rounding)."""
        parts = self.__dict__.get("_parts")
        if self.__dict__.get("_pipeline") is None and parts is not None:
            P = parts["scorer"].proba(texts)
            if P is not None:
                return P
        from ..features import NgramVectorizer
        from ..linear import LinearTopicClassifier

        steps = self.pipeline.steps if hasattr(self.pipeline, "steps") else []
        if len(steps) == 2 and isinstance(steps[0][1], NgramVectorizer) \
                and isinstance(steps[1][1], LinearTopicClassifier):
            vec, est = steps[0][1], steps[1][1]
            Z = vec.linear_scores(texts, est.coef_)
            if Z is not None:
                return est.proba_from_decision(Z + est.intercept_)
        return self.pipeline.predict_proba(texts)

    def explain(self, text: str, top_k: int = 10, labels: Sequence[str] | None = None) -> dict[str, list[tuple[str, float]]]:
        """The terms that pushed each label's score most, with their weights (logit units).

        For Vietnamese, n-gram contributions are summed over the words of underthesea's
        segmentation, so terms are words (``chủ_quyền``), not bare syllables. ``labels``
        defaults to the predicted labels.
        """
        from ..explain import explain_linear

        return explain_linear(self, text, top_k=top_k, labels=labels)

    def prune(self, max_features: int) -> "NgramTopicClassifier":
        """A copy that keeps the ``max_features`` n-grams that move the scores most; nothing is
        retrained. A smaller model loads and scores faster (its tables stay in cache).

        A feature's strength is its idf times how far its weights can move the labels' logits
        apart: the spread of its column of ``coef_`` (max - min) for a single-label model, the
        largest absolute weight for a multi-label one. Check the pruned model on held-out data
        before shipping it (``topicclf evaluate --model A --model B`` compares two).

        >>> small = topicclf.load("vntc10").prune(150_000)  # doctest: +SKIP
        >>> small.meta["pruned"]["features"]  # doctest: +SKIP
        150000
        """
        from sklearn.pipeline import Pipeline

        from ..features import NgramVectorizer
        from ..linear import LinearTopicClassifier

        if not isinstance(max_features, int) or isinstance(max_features, bool) or max_features < 1:
            raise ValueError(f"max_features must be a positive int, got {max_features!r}")
        vec, est = self.pipeline[0], self.estimator
        n = len(vec.idf_)
        W = np.asarray(est.coef_, dtype=np.float64)
        spread = np.abs(W).max(0) if self.multilabel or W.shape[0] == 1 else W.max(0) - W.min(0)
        keep = np.sort(np.argsort(-(spread * vec.idf_), kind="stable")[:max_features])
        vec_arrays, vec_state = vec.get_state()
        v2 = NgramVectorizer.from_state({"codes": vec_arrays["codes"][keep], "idf": vec_arrays["idf"][keep]},
                                        vec_state)
        e2 = LinearTopicClassifier.from_state({"coef": est.coef_[:, keep], "intercept": est.intercept_,
                                               "thresholds": est.thresholds_}, est.get_state()[1])
        kw = self._preprocessing(self.config())
        kw["meta"] = {k: v for k, v in self.meta.items() if k != "metrics"}  # measured on the unpruned model
        kw["meta"]["pruned"] = {"features": int(len(keep)), "from": int(n),
                                "rule": "idf x weight spread over labels, no retraining"}
        return type(self)(Pipeline([("features", v2), ("classifier", e2)]), n_jobs=self.n_jobs, **kw)

    def config(self) -> dict:
        est = self.estimator
        parts = self.__dict__.get("_parts")
        if self.__dict__.get("_pipeline") is None and parts is not None:
            vec_params = parts["vec_state"]["params"]
            est_config = {**est.config, "classes": [str(c) for c in est.classes_],
                          "multilabel": bool(est.multilabel_), "cv_scores": est.cv_scores_}
        else:
            vec_params = self.pipeline[0].get_state()[1]["params"]
            est_config = est.get_state()[1]
        return {
            **{k: v for k, v in self.meta.items() if k not in ("format_version", "versions")},
            "model_type": "linear",
            "labels": self.labels,
            "multilabel": self.multilabel,
            "thresholds": self.thresholds,
            "languages": self.languages,
            "preprocessing": {"normalize": "topicclf.normalize", "max_chars": self.max_chars,
                              "min_tokens": self.min_tokens, "features": "NgramVectorizer"},
            "vectorizer": vec_params,
            "classifier": est_config,
        }

    def save(self, path, card_extra: str = "", extra_files: dict[str, bytes] | None = None, *,
             overwrite: bool = False) -> Path:
        """Save as a model directory (see :mod:`topicclf.serialization`).

        ``card_extra`` is Markdown appended to the generated model card; ``extra_files``
        (relative path -> bytes, e.g. an evaluation report) are saved and checksummed too;
        ``overwrite`` as for :func:`~topicclf.serialization.save_model_dir`.
        """
        from ..modelcard import model_card
        from ..serialization import library_versions

        vec_arrays, vec_state = self.pipeline[0].get_state()
        est_arrays, _ = self.estimator.get_state()
        arrays = {f"features.{k}": v for k, v in vec_arrays.items()}
        arrays.update({f"classifier.{k}": v for k, v in est_arrays.items()})
        config = self.config()
        card = model_card({**config, "versions": library_versions()}, extra=card_extra, path=path)
        return save_model_dir(path, config, arrays, {"tokens": vec_state["tokens"]}, card, extra_files,
                              overwrite=overwrite)

    @classmethod
    def from_parts(cls, path, config: dict, arrays: dict, state: dict, *, load=None) -> "NgramTopicClassifier":
        try:
            vec_arrays = {k.split(".", 1)[1]: v for k, v in arrays.items() if k.startswith("features.")}
            vec_state = {"params": config["vectorizer"], "tokens": state["tokens"]}
            head = LinearHead({k.split(".", 1)[1]: v for k, v in arrays.items() if k.startswith("classifier.")},
                              config["classifier"])
            n_features = len(vec_arrays["codes"])
        except (KeyError, TypeError) as e:
            raise ModelFileError(f"{path}: config or weights lack {e}") from None
        if head.coef_.shape[1] != n_features:
            raise ModelFileError(f"{path}: {n_features} features but weights for {head.coef_.shape[1]}")
        scorer = NgramLinearScorer(vec_arrays, vec_state, head)
        model = cls(None, **cls._preprocessing(config))
        model.__dict__["_parts"] = {"vec_arrays": vec_arrays, "vec_state": vec_state, "head": head,
                                    "scorer": scorer}
        return model
