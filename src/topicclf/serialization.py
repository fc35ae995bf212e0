"""Model directories: JSON config + safetensors weights + model card + SHA-256 manifest.

A saved model is a directory::

    config.json         what the model is: labels, thresholds, preprocessing, versions, data hashes, metrics
    weights.safetensors NumPy arrays (no code: safetensors holds only tensors and a JSON header)
    vocab.json          token lists and other non-array state
    README.md           the model card
    manifest.json       SHA-256 and size of every file above, written last

Loading verifies the manifest before parsing anything, so a truncated or edited file is
refused with an error that names it. Nothing here unpickles or executes code.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np

__all__ = ["FORMAT_VERSION", "ModelFileError", "ModelVersionWarning", "save_model_dir", "load_model_dir",
           "sha256_file", "library_versions"]

FORMAT_VERSION = 1
MANIFEST = "manifest.json"


class ModelFileError(ValueError):
    """A model directory is missing a file, fails its checksum, or is malformed."""


class ModelVersionWarning(UserWarning):
    """The model was saved with other library versions than the running ones."""


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def library_versions() -> dict:
    """Versions that decide whether saved weights mean the same thing when reloaded."""
    import platform
    from importlib import metadata

    out = {"python": platform.python_version()}
    for dist in ("topicclf", "numpy", "scipy", "scikit-learn", "underthesea", "underthesea-core",
                 "torch", "transformers", "safetensors"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out


def save_model_dir(path, config: dict, arrays: dict[str, np.ndarray], state: dict, card: str,
                   extra_files: dict[str, bytes] | None = None) -> Path:
    """Write a model directory atomically (temporary folder, then rename).

    ``extra_files`` maps relative paths (e.g. ``"report/metrics.json"``) to bytes kept
    beside the model and covered by the manifest.
    """
    from safetensors.numpy import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        config = {"format_version": FORMAT_VERSION, **config, "versions": library_versions()}
        (tmp / "config.json").write_text(json.dumps(config, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(tmp / "weights.safetensors"))
        (tmp / "vocab.json").write_text(json.dumps(state, ensure_ascii=False) + "\n", encoding="utf-8")
        (tmp / "README.md").write_text(card, encoding="utf-8")
        for rel, data in (extra_files or {}).items():
            target = tmp / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        files = sorted(p for p in tmp.rglob("*") if p.is_file())
        # mkdtemp makes a private (0700) folder: give the model the usual permissions
        umask = os.umask(0)
        os.umask(umask)
        for p in [tmp, *(q for q in tmp.rglob("*") if q.is_dir())]:
            p.chmod(0o777 & ~umask)
        for p in files:
            p.chmod(0o666 & ~umask)
        manifest = {"format_version": FORMAT_VERSION,
                    "files": {p.relative_to(tmp).as_posix(): {"sha256": sha256_file(p), "size": p.stat().st_size}
                              for p in files}}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        if path.exists():
            backup = path.with_name(f".{path.name}.old")
            shutil.rmtree(backup, ignore_errors=True)
            path.rename(backup)
            tmp.rename(path)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            tmp.rename(path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def verify_manifest(path: Path) -> dict:
    """Check every file listed in the manifest; return the manifest."""
    mpath = path / MANIFEST
    if not mpath.is_file():
        raise ModelFileError(f"{mpath}: missing. This is not a topicclf model directory "
                             "(or it was copied incompletely); save it again with topicclf.")
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
        files = manifest["files"]
    except (ValueError, KeyError, TypeError) as e:
        raise ModelFileError(f"{mpath}: unreadable manifest ({e})") from None
    for name in ("config.json", "weights.safetensors"):
        if name not in files:
            raise ModelFileError(f"{mpath}: does not list {name}")
    for rel, meta in files.items():
        f = path / rel
        if ".." in Path(rel).parts or not f.is_file():
            raise ModelFileError(f"{f}: listed in the manifest but missing")
        if f.stat().st_size != meta.get("size"):
            raise ModelFileError(f"{f}: size {f.stat().st_size} != {meta.get('size')} in the manifest "
                                 "(truncated or modified file)")
        if sha256_file(f) != meta.get("sha256"):
            raise ModelFileError(f"{f}: SHA-256 does not match the manifest (modified or corrupt file); "
                                 "restore it or retrain the model")
    return manifest


def load_model_dir(path) -> tuple[dict, dict[str, np.ndarray], dict]:
    """``(config, arrays, state)`` of a verified model directory."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such model directory")
    verify_manifest(path)
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
        state = json.loads((path / "vocab.json").read_text(encoding="utf-8")) if (path / "vocab.json").exists() else {}
    except ValueError as e:
        raise ModelFileError(f"{path}: malformed JSON ({e})") from None
    _check_versions(path, config)
    try:
        arrays = load_file(str(path / "weights.safetensors"))
    except (SafetensorError, OSError, ValueError) as e:
        raise ModelFileError(f"{path / 'weights.safetensors'}: unreadable ({e})") from None
    return config, arrays, state


def _check_versions(path: Path, config: dict) -> None:
    fv = config.get("format_version")
    if not isinstance(fv, int) or fv > FORMAT_VERSION:
        raise ModelFileError(f"{path}: model format {fv!r} is newer than this topicclf understands "
                             f"({FORMAT_VERSION}); upgrade topicclf (pip install -U topicclf)")
    saved = config.get("versions", {})
    now = library_versions()
    # transformers only matters to transformer models: a linear model never imports it
    dists = ("topicclf", "scikit-learn") + (("transformers",) if config.get("model_type") == "transformer" else ())
    for dist in dists:
        if dist in saved and dist in now and _major_minor(saved[dist]) != _major_minor(now[dist]):
            newer = _major_minor(saved[dist]) > _major_minor(now[dist])
            warnings.warn(
                f"{path.name}: saved with {dist} {saved[dist]}, running {now[dist]}"
                + (" (older than the model: upgrade it)" if newer else "")
                + ". Predictions may differ; check with `topicclf evaluate` or retrain.",
                ModelVersionWarning, stacklevel=3)


def _major_minor(v: str) -> tuple[int, ...]:
    parts = []
    for p in v.split(".")[:2]:
        digits = "".join(ch for ch in p if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)
