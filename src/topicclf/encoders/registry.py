"""Encoder names to checked local folders: the e5 alias, a folder, or a Hugging Face Hub id."""
from __future__ import annotations

import os
from pathlib import Path

from .e5 import E5_ALIASES, materialize_e5

__all__ = ["resolve_encoder"]

_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin",
                 "model.safetensors.index.json", "pytorch_model.bin.index.json")
_TOKENIZER_FILES = ("tokenizer.json", "sentencepiece.bpe.model", "spiece.model",
                    "tokenizer.model", "vocab.txt", "vocab.json")


def _check_model_dir(folder: Path) -> None:
    missing = []
    if not (folder / "config.json").is_file():
        missing.append("config.json")
    if not any((folder / n).is_file() for n in _WEIGHT_FILES):
        missing.append("model.safetensors (or pytorch_model.bin)")
    if not any((folder / n).is_file() for n in _TOKENIZER_FILES):
        # without them transformers may build a default tokenizer and embed garbage
        missing.append("tokenizer.json (or a sentencepiece/vocab file: "
                       + ", ".join(_TOKENIZER_FILES[1:]) + ")")
    if missing:
        raise FileNotFoundError(f"{folder} is not a usable encoder folder; missing: "
                                + "; ".join(missing))


def _env_true(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def resolve_encoder(name_or_path: str | os.PathLike) -> Path:
    """Turn an encoder name, folder or hub id into a checked local folder.

    * ``"multilingual-e5-small"`` / ``"e5-small"`` -> :func:`materialize_e5` (offline);
    * an existing folder -> checked for ``config.json``, weights and tokenizer files
      (``FileNotFoundError`` naming what is missing);
    * anything else -> a Hugging Face Hub id, fetched or taken from the HF cache
      (``OSError`` with advice when the hub is unreachable).

    >>> resolve_encoder("e5-small").name                     # doctest: +SKIP
    'multilingual-e5-small'
    """
    name = os.fspath(name_or_path)
    if name.strip().lower() in E5_ALIASES:
        return materialize_e5()
    path = Path(name).expanduser()
    if path.is_dir():
        _check_model_dir(path)
        return path
    if path.exists() or name.startswith((".", "/", "~")) or "\\" in name or name.count("/") > 1:
        raise FileNotFoundError(f"{name}: no such model folder")
    try:
        from huggingface_hub import snapshot_download

        offline = _env_true("HF_HUB_OFFLINE") or _env_true("TRANSFORMERS_OFFLINE")
        folder = Path(snapshot_download(name, local_files_only=offline, allow_patterns=[
            "*.json", "*.txt", "*.model", "*.safetensors"]))
        if not any((folder / n).is_file() for n in _WEIGHT_FILES):
            folder = Path(snapshot_download(name, local_files_only=offline,
                                            allow_patterns=["pytorch_model*.bin"]))
    except Exception as e:  # hub errors come in many classes; all mean the same to users
        raise OSError(f"cannot get encoder {name!r}: it is not a local folder, and the "
                      f"Hugging Face Hub is unreachable (offline?) or has no such model "
                      f"in its cache. Pass a local model folder instead ({e})") from e
    _check_model_dir(folder)
    return folder
