"""Batch scoring of large dumps: stream in, score in parallel, checkpoint, write atomically.

Example:
    >>> import topicclf
    >>> s = topicclf.score_file("dump.jsonl.zst", "scored.parquet", model="vntc10", workers=4)  # doctest: +SKIP
    >>> s["records_in"], s["scored"], s["rejected"], s["labels"]["The thao"]  # doctest: +SKIP
    (1000000, 999874, 126, 98213)

The same from the shell (``--resume`` continues a killed run where it stopped)::

    topicclf score dump.jsonl.zst --model vntc10 --out scored.jsonl --workers 4
    topicclf score dump.jsonl.zst --model vntc10 --out scored.jsonl --workers 4 --resume

What a run writes, next to ``OUT`` (the ``--out`` file):

``OUT``
    one row per scored record, in input order: ``id`` (the id field, else the record's
    0-based index), ``labels``, ``scores`` ({label: score}), ``lang``, ``flags``. JSONL,
    CSV (lists and scores as JSON in their cells) or Parquet (``scores`` a struct with one
    float field per label), by the extension. A record with empty text is scored and flagged
    (``"empty"``), not rejected. Written to a temporary file and renamed at the end.
``OUT.rejects.jsonl``
    ``{"position", "id", "reason", "index"}`` for each record that could not be scored:
    malformed JSON, not an object, missing or non-text field, undecodable file or bytes.
    ``position`` is the line number (JSONL, CSV), row number (Parquet) or file path (folder).
    Damage to the input itself (a cut or corrupt stream, an unterminated CSV quote, an
    unreadable Parquet page or folder) is a reject with ``"damage": true`` at the position
    reached; the run reads on where it can, and :func:`damage_message` says why such a run
    must still fail (``topicclf score`` exits with status 1).
``OUT.summary.json``
    the dict :func:`score_file` returns: counts, per-label counts, ``damaged`` (damage
    rejects) and ``damage`` (the first kinds, with positions), seconds, records/s.
``OUT.parts/``
    only while running: ``state.json`` (input, model and options) and one part file per
    completed chunk, with the SHA-256 of the input read up to its end; removed at the end.
    A killed run (SIGKILL included) resumes from it with no lost and no duplicated record,
    after checking that the input reads the same.
``OUT.lock``
    only while running: held (``flock``) so that a second run on the same output stops.

Ids: the ``id_field`` value (JSON type kept in JSONL; a string in CSV and Parquet); a
missing, null or empty id falls back to the record's 0-based index among the input's records
(blank JSONL/CSV lines are not records). Ids are not checked for uniqueness.

``workers > 1`` starts processes with the ``spawn`` method, which re-imports the calling
script: call :func:`score_file` under ``if __name__ == "__main__":`` in scripts.
"""

from __future__ import annotations

import errno
import hashlib
import itertools
import json
import multiprocessing
import os
import re
import shutil
import signal
import sys
import threading
import time
from collections import Counter, deque
from contextlib import contextmanager, suppress
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from .data import DataError
from .score_io import OutputWriter, RawLines, Record, Reject, Source, dumps_bytes, output_kind

__all__ = ["score_file", "ResumeError", "OutputError", "DEFAULT_BATCH_SIZE", "damage_message"]

# Records per chunk, by model type. A chunk is the unit of work sent to a process and of
# checkpointing: big enough to amortise the per-call cost (sparse matrix build, IPC), small
# enough that a crash loses little and a few chunks in flight stay a few MB.
DEFAULT_BATCH_SIZE = {"linear": 2048, "transformer": 32}
STATE_VERSION = 2  # 2: each part records the SHA-256 of the input read up to its end
_PART_RE = re.compile(r"^(\d{8})\.jsonl$")


class ResumeError(ValueError):
    """A leftover ``OUT.parts/`` folder that this run cannot (or was not asked to) continue."""


class OutputError(OSError, RuntimeError):
    """The output cannot be written (a read-only folder, a full disk, a folder in the way,
    another run writing it); the message names the path and says what to do."""


class _ModelLoadError(RuntimeError):
    """The model failed to load in a scoring worker (picklable: it crosses processes)."""


# ---------------------------------------------------------------------------------------------
# The model: what the main process needs to know, and what workers load.

@dataclass
class _ModelInfo:
    spec: Any          # a model directory (str) or a TopicClassifier object, for workers
    name: str
    model_type: str
    labels: list[str]
    id: str            # changes whenever the model's files change


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _model_info(model) -> _ModelInfo:
    """Read a model's identity and labels from its ``config.json``, without loading it: with
    workers, only the workers need the weights."""
    from .classifiers.registry import load, model_path

    if model is not None and hasattr(model, "prepare") and hasattr(model, "_score"):
        cfg = model.config() if hasattr(model, "config") else {}
        h = hashlib.sha256(json.dumps(cfg, sort_keys=True, default=str).encode())
        coef = getattr(getattr(model, "estimator", None), "coef_", None)
        if hasattr(coef, "tobytes"):  # two models can share a config; their weights differ
            h.update(coef.tobytes())
        ident = h.hexdigest()
        return _ModelInfo(model, getattr(model, "name", "model"), cfg.get("model_type", "linear"),
                          list(model.labels), "config:" + ident)
    path = model_path(model)  # a shipped name wins over a folder of that name; FileNotFoundError
    try:
        cfg = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cfg = {}
    labels = cfg.get("labels")
    if not isinstance(labels, list):
        labels = load(path).labels  # unusual config: ask the model itself
    manifest = path / "manifest.json"
    ident = _sha256((manifest if manifest.is_file() else path / "config.json").read_bytes())
    return _ModelInfo(str(path.resolve()), cfg.get("name", path.name), cfg.get("model_type", "linear"),
                      [str(l) for l in labels], "manifest:" + ident)


def _load(spec):
    if isinstance(spec, str):
        from .classifiers.registry import load

        return load(spec)
    return spec


# ---------------------------------------------------------------------------------------------
# Scoring one chunk (in a worker, or in-process with workers=1).

@dataclass
class _Scored:
    out: list              # per payload item: its JSONL row (bytes) or its reject (a dict)
    labels: dict
    flags: dict
    flagged: int


def _score_chunk(clf, batch: list, fields=None) -> _Scored:
    """Score a chunk with a loaded model.

    ``batch`` holds ``(index, position, id, text[, title])`` tuples and, with ``fields``,
    JSONL lines (:class:`~topicclf.score_io.RawLines`) to parse first; ``title`` is the title
    that ``text`` starts with, if any. ``out`` has one entry per record, in order. A record
    that makes the model fail becomes a reject (``"scoring failed: ..."``) instead of failing
    its whole chunk.
    """
    out, todo = _expand(batch, fields)
    return _score_records(clf, out, todo)


def _score_records(clf, out: list, todo: list) -> _Scored:
    """:func:`_score_chunk` once the chunk is parsed (``out``, ``todo`` from :func:`_expand`)."""
    texts = [t[4] for t in todo]
    titles = [t[5] for t in todo]
    errors: list = [None] * len(todo)
    try:
        rows = _predict(clf, texts, titles)
    except Exception:  # noqa: BLE001 - find the culprits one by one, score the others
        rows = []
        for i, t in enumerate(texts):
            try:
                rows.append(_predict(clf, [t], [titles[i]])[0])
            except Exception as e:  # noqa: BLE001
                rows.append(None)
                errors[i] = f"scoring failed: {type(e).__name__}: {str(e)[:200]}"
    return _scored(clf, out, todo, rows, errors)


def _expand(batch: list, fields) -> tuple[list, list]:
    """``(out, todo)``: ``out`` one slot per record, holding the reject of a record that cannot
    be scored; ``todo`` the records to score, as ``(slot, index, position, id, text, title)``."""
    items: list = []
    for item in batch:
        if type(item) is RawLines:
            items += fields.parse_lines(item)
        else:
            items.append(item)
    out: list = [None] * len(items)
    todo = []
    for slot, item in enumerate(items):
        if type(item) is Record:
            todo.append((slot, item.index, item.position, item.id, item.text, item.title))
        elif type(item) is Reject:
            out[slot] = item.to_dict()
        else:
            todo.append((slot, item[0], item[1], item[2], item[3], item[4] if len(item) > 4 else None))
    return out, todo


def _scored(clf, out: list, todo: list, rows: list, errors: list | None = None) -> _Scored:
    """Fill ``out`` with the JSONL row (or the reject) of each record of ``todo``."""
    names = clf.labels
    labels: Counter = Counter()
    flags: Counter = Counter()
    flagged = 0
    for k, ((slot, index, position, id_, _, _), row) in enumerate(zip(todo, rows)):
        if row is None:
            out[slot] = Reject(index, position, id_, errors[k]).to_dict()
            continue
        labs, scores, lang, fl = row
        labels.update(labs)
        flags.update(fl)
        flagged += bool(fl)
        out[slot] = dumps_bytes({"id": id_, "labels": labs, "scores": dict(zip(names, scores)),
                                 "lang": lang, "flags": fl})
    return _Scored(out, dict(labels), dict(flags), flagged)


def _predict(clf, texts: list[str], titles: list | None = None) -> list[tuple]:
    """``(labels, scores, lang, flags)`` per text. ``titles[i]``: the title that ``texts[i]``
    starts with (``title + "\\n" + body``), or ``None``."""
    clean, langs, flags, P = clf._run(texts)  # big chunks: cleaning overlaps scoring
    return _rows(clf, texts, titles, clean, langs, flags, P)


def _rows(clf, texts, titles, clean, langs, flags, P) -> list[tuple]:
    labels = clf._labels_from(P, flags, langs)
    rows = list(zip(labels, P.round(6).tolist(), langs, flags))
    if titles and any(titles):
        # A headline over a body that cleans to nothing (boilerplate, "&nbsp;", zero-width
        # characters) is not an article: scored as its body alone, like a title over an
        # empty body (no labels, a flag), not labelled from the headline.
        from .text import normalize

        redo = [i for i, h in enumerate(titles) if h and clean[i] and clean[i] == normalize(h)]
        if redo:
            bodies = [texts[i][len(titles[i]) + 1:] for i in redo]
            for i, row in zip(redo, _predict(clf, bodies)):
                rows[i] = row
    return rows


class _Pipeline:
    """Scoring in this process (``workers=1``) as one stream, without a pause between chunks:
    a thread parses and cleans chunk after chunk (GIL-bound Python and short C), handing each
    cleaned part to ``clf``'s scoring threads (C that releases the GIL), while the calling
    thread reads the input and turns scores into rows. Scoring a chunk whole, the cleaning of
    the next chunk waited for the last part of this one: a core sat idle at every chunk."""

    def __init__(self, clf, fields):
        from concurrent.futures import ThreadPoolExecutor

        self.clf, self.fields = clf, fields
        self._clean = ThreadPoolExecutor(1, thread_name_prefix="topicclf-clean")
        self._score = ThreadPoolExecutor(clf._score_threads(), thread_name_prefix="topicclf-score")

    def submit(self, batch: list):
        return self._clean.submit(self._prepare, batch)

    def _prepare(self, batch: list):
        out, todo = _expand(batch, self.fields)
        texts = [t[4] for t in todo]
        try:
            parts = self.clf._clean_and_submit(texts, self._score)
        except Exception:  # noqa: BLE001 - result() scores this chunk the careful way
            parts = None
        return out, todo, texts, parts

    def result(self, future) -> _Scored:
        out, todo, texts, parts = future.result()
        if parts is not None:
            try:
                rows = _rows(self.clf, texts, [t[5] for t in todo], *self.clf._gather(parts))
                return _scored(self.clf, out, todo, rows)
            except Exception:  # noqa: BLE001 - find the records that fail, score the others
                pass
        return _score_records(self.clf, out, todo)

    def close(self) -> None:
        self._clean.shutdown(wait=True, cancel_futures=True)
        self._score.shutdown(wait=True, cancel_futures=True)


_WORKER_MODEL = None
_WORKER_ERROR: str | None = None


def _init_worker(spec, processes: int, parent: int) -> None:
    """Load the model once per worker process."""
    # Ctrl-C goes to the whole process group: let the main process handle it and stop us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with_parent(parent)
    global _WORKER_MODEL, _WORKER_ERROR
    try:
        _WORKER_MODEL = _load(spec)
    except Exception as e:  # noqa: BLE001 - reported by the first chunk, as a clear error
        _WORKER_ERROR = f"cannot load the model {spec}: {type(e).__name__}: {e}"
        return
    _WORKER_MODEL.n_jobs = 1  # the worker processes share the cores already
    if "torch" in sys.modules:  # a transformer: share the cores instead of oversubscribing them
        import torch

        torch.set_num_threads(max(1, (os.cpu_count() or 1) // max(1, processes)))


def _exit_with_parent(parent: int) -> None:
    """Exit when the main process ``parent`` dies, even by SIGKILL: a spawned worker holds both
    ends of its task queue, so it would otherwise wait on it forever as an orphan."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="topicclf-parent-watch", daemon=True).start()


def _work(fields, batch: list) -> _Scored:
    if _WORKER_ERROR is not None:
        # not "a worker died, rerun with --resume": a model that cannot load never will
        raise _ModelLoadError(_WORKER_ERROR)
    return _score_chunk(_WORKER_MODEL, batch, fields)


def _map_ordered(jobs: Iterator[tuple[Any, list]], fields, spec, workers: int,
                 clf=None) -> Iterator[tuple[Any, _Scored]]:
    """``(job, scored)`` in job order; at most a few chunks in flight.

    Pool.imap would do, except that its feeder thread reads the whole input ahead into
    memory; here the window of submitted chunks is bounded. ProcessPoolExecutor also
    reports a dead worker (e.g. killed by the OOM killer) instead of hanging.
    """
    if workers <= 1:
        pipe = _Pipeline(clf, fields)
        pending: deque = deque()
        try:
            for job, batch in jobs:
                pending.append((job, pipe.submit(batch)))
                if len(pending) >= 3:  # the cleaning thread keeps up to two chunks ahead
                    job0, fut = pending.popleft()
                    yield job0, pipe.result(fut)
            while pending:
                job0, fut = pending.popleft()
                yield job0, pipe.result(fut)
        finally:
            pipe.close()
        return
    ctx = multiprocessing.get_context("spawn")  # no fork: safe with threads, same on every OS
    ex = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker, initargs=(spec, workers, os.getpid()))
    window = 2 * workers + 2
    pending: deque = deque()
    try:
        for job, batch in jobs:
            pending.append((job, ex.submit(_work, fields, batch)))
            if len(pending) >= window:
                job0, fut = pending.popleft()
                yield job0, fut.result()
        while pending:
            job0, fut = pending.popleft()
            yield job0, fut.result()
    except BrokenProcessPool:
        raise RuntimeError("a scoring worker died (out of memory, or the model failed to load in it); "
                           "completed chunks are kept: rerun with --resume") from None
    finally:
        ex.shutdown(wait=True, cancel_futures=True)


# ---------------------------------------------------------------------------------------------
# Checkpoints: OUT.parts/ holds state.json and one part file per completed chunk.
# A part file is a header line (the chunk's rejects and counts) followed by its JSONL rows;
# it is written to a temporary name and renamed, so it either exists whole or not at all.
# Parts are written in chunk order, so the completed chunks are always a prefix 0..k-1.
# No fsync: this survives SIGKILL and crashes of the process, not a power cut.

class _Parts:
    def __init__(self, folder: Path):
        self.folder = folder

    def state(self) -> dict | None:
        try:
            return json.loads((self.folder / "state.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def start(self, state: dict, resume: bool) -> int:
        """Check or create the folder; the number of chunks already done."""
        if self.folder.exists() and not resume:
            raise ResumeError(f"{self.folder} exists: an earlier run of this output did not finish. "
                              "Pass --resume (resume=True) to continue it, or delete the folder to start over.")
        old = self.state() if self.folder.exists() else None
        if old is not None:
            diff = [k for k in state if old.get(k) != state[k]]
            if diff:
                detail = "; ".join(f"{k}: was {old.get(k)!r}, now {state[k]!r}" for k in diff)
                raise ResumeError(f"cannot resume from {self.folder}: it was made with other settings ({detail}). "
                                  "Rerun with the same input, model and options, or delete the folder to start over.")
            done = self._prefix()
        else:
            shutil.rmtree(self.folder, ignore_errors=True)  # killed before its state was written
            done = 0
        self.folder.mkdir(parents=True, exist_ok=True)
        self._write_atomic("state.json", json.dumps(state, indent=2).encode() + b"\n")
        return done

    def _prefix(self) -> int:
        found = {}
        for p in self.folder.iterdir():
            m = _PART_RE.match(p.name)
            if m:
                found[int(m.group(1))] = p
            elif p.name != "state.json":
                p.unlink()  # a temporary file of a killed run
        done = 0
        while done in found:
            done += 1
        for k in found:
            if k >= done:  # cannot happen with in-order writes; never trust a gap
                found[k].unlink()
        return done

    def _write_atomic(self, name: str, data: bytes) -> None:
        tmp = self.folder / f".{name}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, self.folder / name)

    def write(self, k: int, header: dict, lines: list[bytes]) -> None:
        self._write_atomic(f"{k:08d}.jsonl", b"\n".join([dumps_bytes(header), *lines]) + b"\n")

    def header(self, k: int) -> dict:
        with open(self.folder / f"{k:08d}.jsonl", "rb") as fh:
            return json.loads(fh.readline())

    def count(self) -> int:
        return sum(1 for p in self.folder.iterdir() if _PART_RE.match(p.name))

    def iter(self) -> Iterator[tuple[dict, Any]]:
        """``(header, file positioned at the first row)`` for each part, in order."""
        for k in range(self.count()):
            with open(self.folder / f"{k:08d}.jsonl", "rb") as fh:
                yield json.loads(fh.readline()), fh

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# The run.

def _records(chunk: list) -> int:
    return sum(it.records if type(it) is RawLines else 1 for it in chunk)


def _assemble(k: int, meta: list, scored: _Scored, digest: str = "") -> tuple[dict, list[bytes]]:
    """Merge the reader's rejects (``meta``; ``None`` for items sent to scoring) and the
    scored items back into input order."""
    rejects, lines = [], []
    results = iter(scored.out)
    for item in meta:
        res = item.to_dict() if item is not None else next(results)
        if isinstance(res, dict):
            rejects.append(res)
        else:
            lines.append(res)
    header = {"chunk": k, "records": len(meta), "rejects": rejects, "flagged": scored.flagged,
              "labels": scored.labels, "flags": scored.flags, "input_sha256": digest}
    return header, lines


def _progress_bar(source: Source, initial: int, enabled: bool):
    from tqdm import tqdm

    on = enabled and hasattr(sys.stderr, "isatty") and sys.stderr.isatty()
    if enabled and not on:  # a log file, nohup, a pipe: periodic plain lines instead of a bar
        from .progress import LogProgress

        return LogProgress("scoring", total=source.total, initial=initial)
    return tqdm(total=source.total, initial=initial, unit="rec", unit_scale=True, desc="scoring",
                disable=not on, file=sys.stderr, dynamic_ncols=True, smoothing=0.05)


def score_file(input: str | os.PathLike, out: str | os.PathLike, *, model=None, text_field: str = "text",
               id_field: str | None = "id", title_field: str | None = None, batch_size: int | None = None,
               workers: int = 1, resume: bool = False, progress: bool = True) -> dict:
    """Score every record of ``input`` into ``out``; returns the summary (also ``OUT.summary.json``).

    Parameters
    ----------
    input : JSONL (``.gz``/``.zst``), CSV/TSV, Parquet, a folder of ``.txt``/``.html`` files,
        or ``"-"`` (JSONL on stdin); see :mod:`topicclf.score_io`
    out : ``.jsonl`` (``.gz``/``.zst``), ``.csv`` or ``.parquet``
    model : shipped model name, model directory or a loaded :class:`~topicclf.TopicClassifier`
    text_field, id_field : field names; ``title_field``: prepended to the text (title + "\\n" + text)
    batch_size : records per chunk (default by model type, :data:`DEFAULT_BATCH_SIZE`;
        on resume, the interrupted run's)
    workers : processes; 1 scores in this process
    resume : continue from ``OUT.parts/``; without it, an existing ``OUT.parts/`` is an error
    progress : a tqdm bar on stderr when it is a terminal, else a log line every 30 s
        (:mod:`topicclf.progress`)

    >>> s = score_file("dump.jsonl", "out.parquet", model="vntc10")  # doctest: +SKIP
    """
    t0 = time.perf_counter()
    out = Path(out)
    output_kind(out)  # fail early on an unknown extension
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    source = Source(input, text_field=text_field, id_field=id_field, title_field=title_field)
    if source.kind != "stdin" and out.resolve() == Path(input).resolve():
        raise ValueError(f"{out}: the output would overwrite the input")
    for p in (out, Path(f"{out}.rejects.jsonl"), Path(f"{out}.summary.json")):
        if p.is_dir():  # found now, not after scoring everything
            raise OutputError(f"{p} is a folder: --out names the output file (e.g. {out / 'scores.jsonl'})")
    info = _model_info(model)
    parts = _Parts(Path(str(out) + ".parts"))
    if resume and batch_size is None:
        batch_size = (parts.state() or {}).get("batch_size")
    batch_size = batch_size or DEFAULT_BATCH_SIZE.get(info.model_type, 64)
    state = {"version": STATE_VERSION, "input": source.fingerprint() if resume or source.kind != "stdin"
             else {"path": "-"}, "model": info.id, "text_field": text_field, "id_field": id_field,
             "title_field": title_field, "batch_size": batch_size}
    with _output_errors(out, "create the output's folder"):
        out.parent.mkdir(parents=True, exist_ok=True)
    lock = _lock_output(out)
    try:
        with _output_errors(parts.folder, "write checkpoints in"):
            done = parts.start(state, resume)
        try:
            processed = _run(source, parts, info, batch_size, done, workers, progress)
        except BaseException as e:
            # Nothing worth resuming, or an input error that a resumed run would hit again (e.g.
            # a wrong --text-field): do not make the next run ask for --resume.
            if parts.count() == 0 or (isinstance(e, (DataError, _ModelLoadError)) and done == 0):
                parts.remove()
            raise
        with _output_errors(out, "write", kept=parts.folder):
            summary = _finish(parts, out, info, source)
            seconds = time.perf_counter() - t0
            summary.update(seconds=round(seconds, 2), records_this_run=processed,
                           records_per_s=round(processed / seconds, 1) if seconds > 0 else None,
                           workers=workers, batch_size=batch_size, resumed_chunks=done)
            _write_file_atomic(Path(str(out) + ".summary.json"),
                               json.dumps(summary, ensure_ascii=False, indent=2).encode("utf-8") + b"\n")
        parts.remove()
    finally:
        _unlock_output(lock)
    return summary


@contextmanager
def _output_errors(path: Path, doing: str, kept: Path | None = None):
    """An OSError while writing the output becomes an :class:`OutputError` that names the path
    and what to do (a read-only folder, a full disk...), not a traceback."""
    try:
        yield
    except OutputError:
        raise
    except OSError as e:
        where = e.filename or path
        then = f"; completed chunks are kept in {kept}/: fix this and rerun with --resume" if kept else ""
        raise OutputError(e.errno, f"cannot {doing} {where}: {e.strerror or e}{then}") from None


def _lock_output(out: Path):
    """Hold ``OUT.lock`` (``flock``) for the run: two runs writing one output would mix their
    checkpoints. ``None`` where ``fcntl`` is missing (Windows)."""
    try:
        import fcntl
    except ImportError:
        return None
    path = Path(str(out) + ".lock")
    while True:
        with _output_errors(path, "create the lock file"):
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                with suppress(OSError):
                    path.unlink()
                return None  # a file system without locks: run unlocked, as before
            raise OutputError(f"{out}: another topicclf score run is writing this output (it holds {path}); "
                              "wait for it to end or stop it, or choose another --out") from None
        try:  # a run that just ended removes its lock file: hold the file that is there now
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                return fd, path
        except FileNotFoundError:
            pass
        os.close(fd)


def _unlock_output(lock) -> None:
    if lock is not None:
        fd, path = lock
        try:
            os.unlink(path)  # while still held: a run waiting on this file sees it is gone
        except OSError:
            pass
        os.close(fd)


def _run(source: Source, parts: _Parts, info: _ModelInfo, batch_size: int, done: int, workers: int,
         progress: bool) -> int:
    """Score the chunks after the first ``done``; the number of records processed."""
    clf = _load(info.spec) if workers <= 1 else None
    # JSONL lines are parsed where they are scored (the worker, or the scoring thread): this
    # process only finds the line breaks, so reading keeps ahead of scoring
    source.defer = True
    chunks = source.chunks(batch_size)
    skipped = sum(map(_records, itertools.islice(chunks, done)))  # done already: re-read, discard
    if done:
        _check_input(source, parts, done, skipped)
    read = [skipped]

    def jobs():
        for k, chunk in enumerate(chunks, start=done):
            meta: list = []  # per record: its reject from reading, or None (sent to scoring)
            payload = []
            for it in chunk:
                if type(it) is Reject:
                    meta.append(it)
                elif type(it) is RawLines:
                    meta += [None] * it.records
                    payload.append(it)
                else:
                    meta.append(None)
                    payload.append((it.index, it.position, it.id, it.text, it.title))
            read[0] += len(meta)
            yield (k, meta, source.digest()), payload

    bar = _progress_bar(source, skipped, progress)
    rejected = processed = 0
    try:
        for (k, meta, digest), scored in _map_ordered(jobs(), source.fields, info.spec, workers, clf):
            header, lines = _assemble(k, meta, scored, digest)
            with _output_errors(parts.folder, "write a checkpoint in", kept=parts.folder):
                parts.write(k, header, lines)
            processed += len(meta)
            rejected += len(header["rejects"])
            if source.total is None and (frac := source.fraction_read()):
                bar.total = max(read[0], int(read[0] / frac))  # an estimate, for the ETA
            bar.set_postfix(rejected=rejected, refresh=False)
            bar.update(len(meta))
        if source.total is None:
            bar.total = bar.n  # the estimate ends exact
            bar.refresh()
    finally:
        bar.close()
    return processed


def damage_message(summary: dict) -> str | None:
    """Why a finished run must still fail: its input was damaged (a cut or corrupt stream, an
    unterminated CSV quote, unreadable Parquet data or folders), so records may be lost or
    mis-split there; ``None`` for an undamaged input. Names the file and the positions."""
    if not summary.get("damaged"):
        return None
    where = "; ".join(f"at {'position ' if isinstance(d['position'], int) else ''}{d['position']}: {d['reason']}"
                      for d in summary.get("damage", [])[:3])
    more = len(summary.get("damage", [])) - 3
    return (f"{summary['input']} is damaged: {where}" + (f"; and {more} more" if more > 0 else "")
            + f". Every record that could be read was scored, but records may be lost or mis-split at the "
            f"damage ({summary['damaged']:,} reject(s) marked \"damage\" in {summary['rejects_file']}): "
            "repair the input and score it again for a complete output.")


def _check_input(source: Source, parts: _Parts, done: int, skipped: int) -> None:
    """Resuming: the input read again up to where the interrupted run stopped must hash as it
    did then (path, size and mtime say nothing of a file replaced by a shuffled copy)."""
    try:
        expected = parts.header(done - 1).get("input_sha256")
    except (OSError, ValueError):
        expected = None
    if expected is None or source.digest() != expected:
        raise ResumeError(f"cannot resume from {parts.folder}: the input {source.path} is not the one the "
                          f"interrupted run read (its first {skipped:,} records differ). Rerun with that input, "
                          "or delete the folder to start over.")


def _write_file_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _finish(parts: _Parts, out: Path, info: _ModelInfo, source: Source) -> dict:
    """Concatenate the parts into OUT and OUT.rejects.jsonl (temporary files, then renamed)."""
    rejects_path = Path(str(out) + ".rejects.jsonl")
    tmp_out = parts.folder / "final.tmp"
    tmp_rej = parts.folder / "final.rejects.jsonl"
    writer = OutputWriter(tmp_out, out, info.labels)
    n_in = flagged = 0
    labels = Counter({l: 0 for l in info.labels})
    flags: Counter = Counter()
    n_rej = n_damaged = 0
    damage: dict = {}  # reason -> first position, for the first few kinds of damage
    try:
        with open(tmp_rej, "wb") as rej:
            for header, fh in parts.iter():
                n_in += header["records"]
                flagged += header["flagged"]
                labels.update(header["labels"])
                flags.update(header["flags"])
                for r in header["rejects"]:
                    rej.write(dumps_bytes(r) + b"\n")
                    if r.get("damage"):
                        n_damaged += 1
                        if len(damage) < 10:
                            damage.setdefault(r["reason"], r["position"])
                n_rej += len(header["rejects"])
                writer.write_jsonl_stream(fh)
    finally:
        writer.close()
    if writer.rows != n_in - n_rej:  # would mean a corrupt part: never publish it
        raise RuntimeError(f"{parts.folder}: parts hold {writer.rows} rows for {n_in - n_rej} scored records")
    os.replace(tmp_rej, rejects_path)
    os.replace(tmp_out, out)
    return {"input": source.path, "output": str(out), "rejects_file": str(rejects_path),
            "summary_file": str(out) + ".summary.json", "model": info.name, "model_id": info.id,
            "records_in": n_in, "scored": n_in - n_rej, "flagged": flagged, "rejected": n_rej,
            "labels": dict(labels), "flags": dict(sorted(flags.items())),
            # rejects that are damage to the input: records there may be lost or mis-split
            "damaged": n_damaged, "damage": [{"position": p, "reason": r} for r, p in damage.items()]}
