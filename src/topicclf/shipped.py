"""The models shipped with the package (the data package ``topicclf_models``, from ``models/``)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["available_models"]


def available_models() -> list[str]:
    """Names of the models shipped in ``models/``."""
    root = _shipped_root()
    if root is None:
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and (p / "config.json").is_file())


def _shipped_root() -> Path | None:
    try:
        root = Path(str(resources.files("topicclf_models")))
    except ModuleNotFoundError:
        return None
    return root if root.is_dir() else None
