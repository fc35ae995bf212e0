"""Labeled data: read JSONL/CSV/Parquet with ``datasets``, validate, hash.

Every problem a training file can have stops with a :class:`DataError` that names the
record (its index and id) and says what to do, before any fitting starts.

Example:
    >>> recs = Records(texts=["a b c", "d e f"], labels=[["x"], []], ids=["1", "2"], multilabel=True)
    >>> recs.label_set()
    ['x']
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

__all__ = ["DataError", "Records", "load_records", "load_training_files", "read_dataset", "data_root", "file_digest",
           "read_label_studio", "is_label_studio_export", "LabelStudioWarning"]


class DataError(ValueError):
    """A labeled data file that cannot be trained or evaluated on as it is."""


@dataclass
class Records:
    texts: list[str]
    labels: list  # list[str] (single-label) or list[list[str]] (multi-label)
    ids: list[str]
    multilabel: bool
    langs: list[str | None] = field(default_factory=list)
    extra: dict[str, list] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.texts)

    def label_set(self) -> list[str]:
        if self.multilabel:
            return sorted({l for ls in self.labels for l in ls})
        return sorted(set(self.labels))


def data_root() -> Path | None:
    """Folder holding ``vntc/``, ``policy5/``...: ``$TOPICCLF_DATA`` or ``../shared/data``."""
    env = os.environ.get("TOPICCLF_DATA")
    candidates = [Path(env)] if env else []
    here = Path(__file__).resolve()
    candidates += [here.parents[2].parent / "shared" / "data", Path.cwd().parent / "shared" / "data"]
    for c in candidates:
        if c.is_dir():
            return c
    return None


def file_digest(path) -> str:
    """SHA-256 of a data file, recorded in every model trained on it."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def _builder(path: str) -> str:
    p = path.lower()
    for suffix in (".gz", ".zst", ".bz2", ".xz"):
        if p.endswith(suffix):
            p = p[: -len(suffix)]
    if p.endswith((".jsonl", ".json", ".ndjson")):
        return "json"
    if p.endswith((".csv", ".tsv")):
        return "csv"
    if p.endswith(".parquet"):
        return "parquet"
    raise DataError(f"{path}: unknown data format; use .jsonl, .jsonl.gz, .csv or .parquet")


def read_dataset(path, split: str = "train"):
    """A :class:`datasets.Dataset` from a JSONL(.gz), CSV or Parquet file, offline."""
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    import datasets

    path = str(path)
    if not Path(path).is_file():
        raise FileNotFoundError(f"{path}: no such data file")
    builder = _builder(path)
    kwargs = {"delimiter": "\t"} if builder == "csv" and ".tsv" in path.lower() else {}
    datasets.disable_progress_bars()
    try:
        return datasets.load_dataset(builder, data_files={split: path}, split=split, **kwargs)
    except Exception as e:  # datasets wraps parser errors in many types
        raise DataError(f"{path}: cannot be read as {builder} ({type(e).__name__}: {str(e)[:300]}). "
                        "Check that every line is a JSON object with the same fields.") from None


def load_records(path, text_field: str = "text", label_field: str | None = None,
                 labels: Sequence[str] | None = None, id_field: str = "id",
                 require_labels: bool = True) -> Records:
    """Read and validate a labeled file.

    ``label_field=None`` picks ``labels`` if present (multi-label), else ``label``. A
    list-valued label field means multi-label, and so do labels written as comma-separated
    strings (``"democracy,human_rights"``: a CSV cannot hold lists). ``labels`` declares the
    allowed labels. A Label Studio JSON export (``.json``, a list of tasks with ``data`` and
    ``annotations``) is read by :func:`read_label_studio`.
    """
    if is_label_studio_export(path):
        return read_label_studio(path, text_field=text_field, label_field=label_field, labels=labels,
                                 id_field=id_field, require_labels=require_labels)
    ds = read_dataset(path)
    cols = ds.column_names
    if text_field not in cols:
        raise DataError(f"{path}: no field {text_field!r} (fields: {cols}); pass --text-field")
    if label_field is None:
        label_field = "labels" if "labels" in cols else "label"
    if label_field not in cols:
        if require_labels:
            raise DataError(f"{path}: no label field {label_field!r} (fields: {cols}); pass --label-field")
        label_field = None
    texts = ds[text_field]
    raw_labels = ds[label_field] if label_field else [None] * len(texts)
    ids = [str(v) for v in ds[id_field]] if id_field in cols else [str(i) for i in range(len(texts))]
    langs = ds["lang"] if "lang" in cols else [None] * len(texts)
    return validate(texts, raw_labels, ids, langs, labels=labels, source=str(path),
                    require_labels=require_labels and label_field is not None,
                    extra={c: ds[c] for c in ("source", "confidence") if c in cols})


def validate(texts, raw_labels, ids, langs=None, labels: Sequence[str] | None = None, source: str = "data",
             require_labels: bool = True, extra: dict | None = None) -> Records:
    """Check texts and labels; raise :class:`DataError` naming the first bad records."""
    n = len(texts)
    problems: list[str] = []

    def bad(i, msg):
        if len(problems) < 10:
            problems.append(f"record {i} (id {ids[i]!r}): {msg}")

    for i, t in enumerate(texts):
        if not isinstance(t, str):
            bad(i, f"text is {type(t).__name__}, not a string")
        elif not t.strip():
            bad(i, "empty text; drop the record or fill the text")
    seen: dict[str, int] = {}
    for i, id_ in enumerate(ids):
        if id_ in seen:
            bad(i, f"duplicate id (also record {seen[id_]}); ids must be unique")
        seen.setdefault(id_, i)
    multi = False
    clean_labels: list = []
    if require_labels:
        raw_labels = _split_comma_labels(raw_labels, labels)
        kinds = {type(v).__name__ for v in raw_labels}
        if kinds - {"list", "str"}:
            for i, v in enumerate(raw_labels):
                if not isinstance(v, (list, str)):
                    bad(i, f"label {v!r} is {type(v).__name__}; use a string (single-label) or a list of strings")
        if kinds >= {"list", "str"}:
            first_list = next(i for i, v in enumerate(raw_labels) if isinstance(v, list))
            first_str = next(i for i, v in enumerate(raw_labels) if isinstance(v, str))
            bad(max(first_list, first_str), "label field mixes lists and strings "
                f"(record {min(first_list, first_str)} is the other kind); use one kind for every record")
        multi = "list" in kinds
        allowed = set(labels) if labels is not None else None
        for i, v in enumerate(raw_labels):
            vs = v if isinstance(v, list) else [v]
            for l in vs:
                if not isinstance(l, str) or not l:
                    bad(i, f"label {l!r} is not a non-empty string")
                elif allowed is not None and l not in allowed:
                    bad(i, f"unknown label {l!r}; declared labels are {sorted(allowed)}")
            clean_labels.append(list(v) if multi and isinstance(v, list) else v)
        if not problems:
            present = {l for v in clean_labels for l in (v if multi else [v])}
            if not multi and len(present) < 2:
                problems.append(f"only one class ({sorted(present)}) in {n} records: a classifier needs "
                                "at least two; add records of other classes")
            if multi and not present:
                problems.append("no record has any label; a multi-label file needs positive examples")
    if problems:
        more = "" if len(problems) < 10 else "\n  (first 10 problems shown)"
        raise DataError(f"{source}: cannot use this data:\n  " + "\n  ".join(problems) + more)
    return Records(list(texts), clean_labels, list(ids), multi, list(langs or [None] * n), dict(extra or {}))


def _split_comma_labels(raw_labels, declared: Sequence[str] | None = None) -> list:
    """Labels given as strings with commas are lists written as text (``"a,b"``, as a CSV must):
    multi-label, split (``""`` or an empty cell is no label), instead of single-label classes
    named ``"a,b"``. A declared label that has a comma stays one label.

    >>> _split_comma_labels(["democracy,human_rights", "religion", "", None])
    [['democracy', 'human_rights'], ['religion'], [], []]
    >>> _split_comma_labels(["sport", "business"])
    ['sport', 'business']
    """
    raw_labels = list(raw_labels)
    keep = set(declared or ())
    if raw_labels and all(v is None or isinstance(v, str) for v in raw_labels) \
            and any(isinstance(v, str) and "," in v and v not in keep for v in raw_labels):
        return [[] if v is None else [v] if v in keep else [p.strip() for p in v.split(",") if p.strip()]
                for v in raw_labels]
    return raw_labels


def load_training_files(paths, text_field: str = "text", label_field: str | None = None,
                        labels: Sequence[str] | None = None) -> tuple[list[str], list, list[dict]]:
    """``(texts, labels, sources)`` of one or more labeled files, validated.

    ``sources`` lists each file's name, SHA-256 and record count, for the model's config. A
    Label Studio export among other files takes their kind of labels (an export whose
    annotations all have one choice is a multi-label file beside multi-label files).
    """
    paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    texts: list[str] = []
    all_labels: list = []
    sources: list[dict] = []
    multi = None
    exports = {i for i, p in enumerate(paths) if label_field is None and is_label_studio_export(p)}
    read: dict[int, Records] = {}
    for i in sorted(range(len(paths)), key=lambda i: i in exports):  # the other files first
        field_ = label_field if i not in exports or multi is None else "labels" if multi else "label"
        read[i] = load_records(paths[i], text_field=text_field, label_field=field_, labels=labels)
        multi = read[i].multilabel if multi is None else multi
    multi = None
    for i, p in enumerate(paths):
        recs = read[i]
        if multi is not None and recs.multilabel != multi:
            raise DataError(f"{p}: mixes multi-label and single-label files; use one kind of label field")
        multi = recs.multilabel
        texts += recs.texts
        all_labels += recs.labels
        sources.append({"path": Path(p).name, "sha256": file_digest(p), "records": len(recs)})
    return texts, all_labels, sources


# ---------------------------------------------------------------------------------------------
# Label Studio's JSON export (topicclf.labelstudio writes the tasks it imports)

class LabelStudioWarning(UserWarning):
    """Tasks of a Label Studio export that carry no usable annotation (skipped)."""


def is_label_studio_export(path) -> bool:
    """Whether ``path`` is a Label Studio JSON export (a ``.json`` list of tasks with ``data``)."""
    p = Path(path)
    if p.suffix.lower() != ".json" or not p.is_file():
        return False
    with open(p, "rb") as f:
        head = f.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith(b"["):
        return False
    return head[1:].lstrip().startswith(b"{") and _first_is_task(p)  # a list of objects: parse it


def _first_is_task(p: Path) -> bool:
    try:
        tasks = json.loads(p.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError):
        return False
    return isinstance(tasks, list) and bool(tasks) and isinstance(tasks[0], dict) and \
        isinstance(tasks[0].get("data"), dict)


def _latest(annotations) -> dict | None:
    done = [a for a in annotations or [] if isinstance(a, dict) and not a.get("was_cancelled")]
    if not done:
        return None
    return max(enumerate(done), key=lambda ia: (str(ia[1].get("updated_at") or ""),
                                                str(ia[1].get("created_at") or ""),
                                                ia[1].get("id") if isinstance(ia[1].get("id"), int) else -1,
                                                ia[0]))[1]


def _choices(annotation: dict) -> list[str]:
    out: list[str] = []
    for item in annotation.get("result") or []:
        if isinstance(item, dict) and item.get("type") == "choices":
            for c in (item.get("value") or {}).get("choices") or []:
                if c not in out:
                    out.append(c)
    return out


def read_label_studio(path, text_field: str = "text", label_field: str | None = None,
                      labels: Sequence[str] | None = None, id_field: str = "id",
                      require_labels: bool = True) -> Records:
    """Labelled records from a Label Studio JSON export (see :mod:`topicclf.labelstudio`).

    ``text_field``/``id_field``: keys of each task's ``data`` (the id falls back to the task's
    own ``id``). Multi-label when ``label_field`` is ``"labels"``, single-label when it is
    ``"label"``; by default multi-label if some annotation has no choice or several.
    """
    try:
        tasks = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: cannot be read as a Label Studio export ({e})") from None
    if not isinstance(tasks, list):
        raise DataError(f"{path}: a Label Studio export is a JSON list of tasks")
    texts, raw, ids, langs = [], [], [], []
    skipped = 0
    for i, task in enumerate(tasks):
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            raise DataError(f"{path}: task {i} has no 'data' object; is this a Label Studio JSON export?")
        data = task["data"]
        ann = _latest(task.get("annotations", task.get("completions")))
        if ann is None and require_labels:
            skipped += 1
            continue
        if text_field not in data:
            raise DataError(f"{path}: task {i} has no data field {text_field!r} (fields: {sorted(data)}); "
                            "pass --text-field")
        texts.append(data[text_field])
        tid = data.get(id_field)
        ids.append(str(tid if tid not in (None, "") else task.get("id", i)))
        langs.append(data.get("lang"))
        raw.append(_choices(ann) if ann is not None else [])
    if skipped:
        warnings.warn(f"{path}: {skipped} of {len(tasks)} tasks have no annotation (or only cancelled ones): "
                      "skipped", LabelStudioWarning, stacklevel=3)
    if not texts and require_labels:
        raise DataError(f"{path}: no task has an annotation that was not cancelled: nothing to train on")
    if label_field == "label":
        multi = False
    elif label_field == "labels":
        multi = True
    else:
        multi = any(len(c) != 1 for c in raw)
    if require_labels and not multi:
        raw = [c[0] if len(c) == 1 else c for c in raw]  # several choices: validate names the record
    return validate(texts, raw, ids, langs, labels=labels, source=str(path), require_labels=require_labels)
