"""topicclf: topic classification for Vietnamese and English news.

The public API is flat::

    import topicclf
    clf = topicclf.load()                       # the embedded default model (policy5)
    clf.classify(["Bài báo ..."])               # labels, scores, language, flags
    topicclf.tokenize("Chủ quyền biển đảo")     # ['Chủ_quyền', 'biển', 'đảo']
    topicclf.detect_language("Hello world")     # Language(lang='en', confidence=...)
    model = topicclf.train(texts, labels)       # any label set, single- or multi-label
    topicclf.evaluate(model, texts, labels)     # metrics dict; write_report() for files
    topicclf.score_file("dump.jsonl", "out.jsonl", model="vntc10")
    topicclf.select("dump.jsonl", model="policy5", n=200)    # what to label next
    topicclf.compare("policy5", "./new", texts, labels)     # is B better than A? (paired bootstrap)

Heavy dependencies (scikit-learn, SciPy, matplotlib, underthesea, torch, transformers) are
imported only when a function needs them: ``import topicclf``, loading a TF-IDF model and
classifying import none of them. ``train``, ``train_file``, ``NgramVectorizer`` and
``LinearTopicClassifier`` are imported on first use (PEP 562); a lazy name must not be the name
of a submodule (importing the submodule would rebind it).
"""

from importlib import import_module as _import_module

from .data import DataError, load_records, read_dataset
from .evaluate import evaluate, write_report
from .lang import Language, detect_language
from .classifiers.base import Prediction, TopicClassifier
from .classifiers.registry import DEFAULT_MODEL, available_models, load
from .serialization import ModelFileError, ModelVersionWarning
from .text import DecodeError, normalize, read_text
from .tokenize import tokenize

#: flat names whose modules import scikit-learn: name -> module, imported on first use
_LAZY = {
    "train": "topicclf.trainer", "train_file": "topicclf.trainer",
    "NgramVectorizer": "topicclf.features", "LinearTopicClassifier": "topicclf.linear",
    "select": "topicclf.selection", "compare": "topicclf.comparison",
}


def __getattr__(name: str):
    if name == "__version__":  # importlib.metadata costs 40 ms at start-up, in every worker too
        from importlib import metadata

        try:
            value = metadata.version("topicclf")
        except metadata.PackageNotFoundError:  # running from a source tree
            value = "0.0.0+unknown"
        globals()[name] = value
        return value
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'topicclf' has no attribute {name!r}")
    value = getattr(_import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | {"__version__"})



def score_file(input, out, *, model=None, text_field: str = "text", id_field: str | None = "id",
               title_field: str | None = None, batch_size: int | None = None, workers: int = 1,
               resume: bool = False, progress: bool = True) -> dict:
    """Score every record of ``input`` into ``out``; returns the summary (also ``OUT.summary.json``).

    ``input``: JSONL (``.gz``/``.zst``), CSV/TSV, Parquet, a folder of ``.txt``/``.html`` files or
    ``"-"``; ``out``: ``.jsonl``, ``.csv`` or ``.parquet``; ``model``: shipped name, model folder
    or a loaded classifier. See :func:`topicclf.score.score_file` (imported on first call) for
    every parameter.
    """
    from .score import score_file as _score_file

    return _score_file(input, out, model=model, text_field=text_field, id_field=id_field,
                       title_field=title_field, batch_size=batch_size, workers=workers, resume=resume,
                       progress=progress)


__all__ = [
    "load", "available_models", "DEFAULT_MODEL", "TopicClassifier", "Prediction",
    "normalize", "read_text", "detect_language", "Language", "tokenize",
    "train", "train_file", "evaluate", "write_report", "score_file", "select", "compare",
    "load_records", "read_dataset", "NgramVectorizer", "LinearTopicClassifier",
    "DataError", "DecodeError", "ModelFileError", "ModelVersionWarning", "__version__",
]
