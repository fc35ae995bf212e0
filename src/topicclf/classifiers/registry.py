"""Loading: a model directory's ``config.json`` names its kind; the kind's class rebuilds it.

:data:`KINDS` maps each kind (``model_type`` in ``config.json``) to the module and class that
load it; kinds are imported only when a model of theirs is loaded (torch stays unimported for
a TF-IDF model). A new kind is one module in :mod:`topicclf.classifiers` plus one entry here.

:func:`load` finds a model by name (:func:`~topicclf.shipped.available_models`) or folder;
:func:`load_dir` loads one directory.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

from ..serialization import ModelFileError, load_model_dir
from ..shipped import _shipped_root, available_models
from .base import TopicClassifier

__all__ = ["DEFAULT_MODEL", "KINDS", "available_models", "kind_class", "load", "load_dir", "model_path"]

DEFAULT_MODEL = "policy5"

#: kind -> (module, class). The kind is ``config.json``'s ``model_type``.
KINDS: dict[str, tuple[str, str]] = {
    "linear": ("topicclf.classifiers.linear", "NgramTopicClassifier"),
    "embedding": ("topicclf.classifiers.embedding", "EmbeddingTopicClassifier"),
    "transformer": ("topicclf.classifiers.transformer", "TransformerTopicClassifier"),
    "routed": ("topicclf.classifiers.routed", "RoutedTopicClassifier"),
    "cascade": ("topicclf.classifiers.cascade", "CascadeTopicClassifier"),
}


def kind_class(kind: str) -> type[TopicClassifier]:
    """The class that loads models of ``kind`` (``KeyError`` for an unknown kind)."""
    module, name = KINDS[kind]
    return getattr(importlib.import_module(module), name)


def _written_by(config: dict) -> str:
    versions = config.get("versions")
    version = versions.get("topicclf") if isinstance(versions, dict) else None
    return f"topicclf {version}" if version else "an unknown topicclf version (config.json has no versions)"


def load_dir(path) -> TopicClassifier:
    """Load one model directory (checksums verified first) as the class of its kind."""
    path = Path(path)
    config, arrays, state = load_model_dir(path)
    kind = config.get("model_type")
    if not isinstance(kind, str) or kind not in KINDS:
        raise ModelFileError(
            f"{path}: unknown model kind {kind!r} (config.json model_type); this topicclf knows "
            f"{', '.join(sorted(KINDS))}. The model was written by {_written_by(config)}: "
            "load it with that version, or a newer one that knows its kind")
    return kind_class(kind).from_parts(path, config, arrays, state, load=load_dir)


def model_path(name_or_path: str | Path | None = None) -> Path:
    """The model folder that a name or path means (default :data:`DEFAULT_MODEL`).

    A shipped model's name (``"policy5"``) means the shipped model, even where a folder of that
    name is in the current directory (a data folder, another model); a path means a folder:
    a :class:`~pathlib.Path`, or a string with a ``/`` or starting with ``.`` or ``~``
    (``"./policy5"``, ``"models/x"``, ``"/abs/x"``).
    """
    name = str(name_or_path) if name_or_path is not None else DEFAULT_MODEL
    bare = not isinstance(name_or_path, Path) and not name.startswith((".", "~")) \
        and not any(sep and sep in name for sep in ("/", os.sep, os.altsep))
    root = _shipped_root()
    if bare and root is not None and (root / name / "config.json").is_file():
        return root / name
    path = Path(name).expanduser()
    if path.is_dir():
        return path
    raise FileNotFoundError(f"no model {name!r}: not a directory, and the shipped models are "
                            f"{available_models()}. Train one with `topicclf train` or pass its directory.")


def load(name_or_path: str | Path | None = None) -> TopicClassifier:
    """Load a shipped model by name (default :data:`DEFAULT_MODEL`) or any model directory
    (:func:`model_path`: a shipped name wins over a folder of that name; ``"./name"`` loads
    the folder).

    >>> clf = load("vntc10")        # doctest: +SKIP
    >>> clf = load("path/to/dir")   # doctest: +SKIP
    """
    return load_dir(model_path(name_or_path))
