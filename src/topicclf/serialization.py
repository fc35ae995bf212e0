"""Model directories: JSON config + safetensors weights + model card + SHA-256 manifest.

A saved model is a directory::

    config.json         what the model is: labels, thresholds, preprocessing, versions, data hashes, metrics
    weights.safetensors NumPy arrays (no code: safetensors holds only tensors and a JSON header)
    vocab.json          token lists and other non-array state
    README.md           the model card
    manifest.json       SHA-256 and size of every file above, written last

Loading verifies the manifest before parsing anything, so a truncated or edited file is
refused with an error that names it. Nothing here unpickles or executes code.

Saving never deletes a file that topicclf did not write: a folder is replaced only if it is
a model directory (``config.json`` + ``manifest.json``), and then only the files its manifest
lists are replaced or removed; other folders are refused unless ``overwrite=True``.
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
           "check_save_target", "is_model_dir", "finish_interrupted_save", "sha256_file", "library_versions"]

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


def is_model_dir(path) -> bool:
    """Whether ``path`` is a topicclf model directory (our ``config.json`` and a readable ``manifest.json``)."""
    return _model_files(Path(path)) is not None


def _model_files(path: Path) -> set[str] | None:
    """The files a model directory's manifest says topicclf wrote there (the manifest and an
    unfinished save's journal included); ``None`` if ``path`` is not a model directory."""
    if not (path / "config.json").is_file() or not (path / MANIFEST).is_file():
        return None
    try:
        files = json.loads((path / MANIFEST).read_text(encoding="utf-8"))["files"]
        names = {_safe_rel(rel) for rel in files}
    except (ValueError, KeyError, TypeError, OSError):
        return None
    if "config.json" not in names:
        return None
    return names | {MANIFEST}


def _safe_rel(rel) -> str:
    """A relative POSIX path inside the model directory, or ``ValueError``."""
    p = Path(str(rel))
    if not str(rel) or p.is_absolute() or ".." in p.parts or p.as_posix() != str(rel).replace("\\", "/"):
        raise ValueError(f"{rel!r}: a model file must be a relative path inside the model directory")
    return p.as_posix()


def check_save_target(path, overwrite: bool = False) -> None:
    """Raise :class:`FileExistsError` if saving a model to ``path`` could overwrite files that
    topicclf did not write: ``path`` is an existing file, or a non-empty folder that is not a
    topicclf model directory (``overwrite=True`` allows the latter: the model's files are
    written among the others, which are left alone)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise FileExistsError(f"{path}: is a file, not a folder; choose another output folder")
    if not path.is_dir() or overwrite or _model_files(path) is not None:
        return
    others = sorted(p.name for p in path.iterdir())
    if others:
        shown = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
        raise FileExistsError(
            f"{path}: the folder exists and is not a topicclf model folder (it holds {shown}); "
            "nothing was written. Choose a new or empty folder, or pass --force (overwrite=True) "
            "to write the model's files into it (files of the same names are replaced; other "
            "files are kept).")


def save_model_dir(path, config: dict, arrays: dict[str, np.ndarray], state: dict, card: str,
                   extra_files: dict[str, bytes] | None = None, *, overwrite: bool = False) -> Path:
    """Write a model directory; never delete a file that topicclf did not write.

    * ``path`` does not exist: the model is written to a temporary folder beside it, then
      renamed (a crash leaves no half-written model).
    * ``path`` is a model directory: only the files of its manifest and the new model's are
      touched. The new files are written to temporary names in the same folders, then a
      journal (``.topicclf-save.json``) listing them is committed and they are renamed over
      the old ones (manifest last) and old model files the new model lacks are removed. A
      crash before the journal leaves the old model; after it, the next load or save finishes
      the replacement: either way the folder holds the old or the new model, whole.
      Other files (a user's notes) stay.
    * ``path`` is an empty folder: as a model directory with no files.
    * anything else (a folder with other files, a file) is :class:`FileExistsError`, unless
      ``overwrite=True`` for a folder (files of the model's names are replaced, others kept).

    ``extra_files`` maps relative paths (e.g. ``"report/metrics.json"``) to bytes kept
    beside the model and covered by the manifest.
    """
    from safetensors.numpy import save as st_save

    path = Path(path)
    config = {"format_version": FORMAT_VERSION, **config, "versions": library_versions()}
    files: dict[str, bytes] = {
        "config.json": (json.dumps(config, ensure_ascii=False, indent=2) + "\n").encode("utf-8"),
        "weights.safetensors": st_save({k: np.ascontiguousarray(v) for k, v in arrays.items()}),
        "vocab.json": (json.dumps(state, ensure_ascii=False) + "\n").encode("utf-8"),
        "README.md": card.encode("utf-8"),
    }
    for rel, data in (extra_files or {}).items():
        files[_safe_rel(rel)] = bytes(data)
    reserved = {MANIFEST, _JOURNAL} & set(files)
    if reserved:
        raise ValueError(f"extra_files may not be named {sorted(reserved)}")
    manifest = {"format_version": FORMAT_VERSION,
                "files": {rel: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
                          for rel, data in sorted(files.items())}}
    files[MANIFEST] = (json.dumps(manifest, indent=2) + "\n").encode("utf-8")
    check_save_target(path, overwrite)
    if path.is_dir():
        _replace_in_place(path, files, overwrite)
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        for rel, data in files.items():
            _write_file(tmp / rel, data)
        # mkdtemp makes a private (0700) folder: give the model the usual permissions
        umask = os.umask(0)
        os.umask(umask)
        for p in [tmp, *(q for q in tmp.rglob("*") if q.is_dir())]:
            p.chmod(0o777 & ~umask)
        os.rename(tmp, path)  # fails (nothing lost) if a folder appeared there meanwhile
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


_JOURNAL = ".topicclf-save.json"
_NEW = ".topicclf-new"


def _staged(path: Path, rel: str) -> Path:
    target = path / rel
    return target.with_name(f".{target.name}{_NEW}")


def _write_file(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _replace_in_place(path: Path, files: dict[str, bytes], overwrite: bool) -> None:
    finish_interrupted_save(path)
    old = _model_files(path) or set()
    for rel in files:
        target = path / rel
        if target.is_dir() and not target.is_symlink():
            raise FileExistsError(f"{target}: is a folder, where the model needs to write a file; "
                                  "nothing was written")
        if rel not in old and target.exists() and not overwrite:
            raise FileExistsError(f"{target}: exists and was not written by topicclf; nothing was "
                                  "written. Move it away, or pass --force (overwrite=True) to replace it.")
    order = [rel for rel in files if rel != MANIFEST] + [MANIFEST]  # the manifest last
    staged = []
    try:
        for rel in order:
            tmp = _staged(path, rel)
            staged.append(tmp)
            _write_file(tmp, files[rel])
        journal = {"replace": order, "remove": sorted(old - set(files) - {_JOURNAL})}
        _write_file(path / f"{_JOURNAL}{_NEW}", json.dumps(journal).encode("utf-8"))
        os.replace(path / f"{_JOURNAL}{_NEW}", path / _JOURNAL)  # the commit point
    except BaseException:
        for tmp in staged:
            tmp.unlink(missing_ok=True)
        raise
    _apply_journal(path)


def finish_interrupted_save(path) -> bool:
    """Complete a save that was interrupted after its commit point (see :func:`save_model_dir`)
    and remove the temporary files of one interrupted before it; ``True`` if one was completed."""
    path = Path(path)
    done = False
    if (path / _JOURNAL).is_file():
        _apply_journal(path)
        done = True
    for p in list(path.rglob(f".*{_NEW}")):  # leftovers of a save interrupted before its commit
        if p.is_file():
            p.unlink(missing_ok=True)
    return done


def _apply_journal(path: Path) -> None:
    try:
        journal = json.loads((path / _JOURNAL).read_text(encoding="utf-8"))
        replace = [_safe_rel(r) for r in journal["replace"]]
        remove = [_safe_rel(r) for r in journal["remove"]]
    except (ValueError, KeyError, TypeError) as e:
        raise ModelFileError(f"{path / _JOURNAL}: unreadable journal of an interrupted save ({e}); "
                             "save the model again") from None
    for rel in replace:
        tmp = _staged(path, rel)
        if tmp.exists():
            os.replace(tmp, path / rel)
    for rel in remove:
        f = path / rel
        f.unlink(missing_ok=True)
        parent = f.parent
        while parent != path and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()  # a folder only the old model's files were in
            parent = parent.parent
    (path / _JOURNAL).unlink()


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
    if (path / _JOURNAL).is_file():  # a save was interrupted after its commit point: finish it
        try:
            finish_interrupted_save(path)
        except OSError as e:
            raise ModelFileError(f"{path}: a save into this folder was interrupted and cannot be "
                                 f"finished here ({e}); save the model again") from None
    verify_manifest(path)
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
        state = json.loads((path / "vocab.json").read_text(encoding="utf-8")) if (path / "vocab.json").exists() else {}
    except ValueError as e:
        raise ModelFileError(f"{path}: malformed JSON ({e})") from None
    if not isinstance(config, dict):
        raise ModelFileError(f"{path / 'config.json'}: not a JSON object")
    _check_versions(path, config)
    from .taxonomy import with_label_descriptions

    config = with_label_descriptions(config)  # a shipped family's model saved without them
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
