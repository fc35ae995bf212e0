"""Streaming inputs and outputs for :mod:`topicclf.score`.

An input is read as a stream of :class:`Record` (to score) and :class:`Reject` (a record
that cannot be scored, with the reason) items, one per input record, in input order; no
reader holds more than one record (or one Parquet batch) at a time.

=================================  ====================================================
input                              read with
=================================  ====================================================
``x.jsonl`` / ``.jsonl.gz/.zst``   line by line (bytes); blank lines are not records
``x.csv`` / ``.tsv`` (``.gz``)     :mod:`csv`, first row is the header
``x.parquet``                      ``pyarrow.parquet.ParquetFile.iter_batches``
a folder                           every ``.txt``/``.html``/``.htm`` file, decoded with
                                   :func:`topicclf.read_text`; id = relative path
``-``                              stdin as JSONL (gzip/zstd recognised by magic bytes)
=================================  ====================================================

Example:
    >>> import json, tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "d.jsonl"
    >>> _ = p.write_text('{"id": "a", "text": "Hà Nội"}\\n[1]\\n{"text": 5}\\n', encoding="utf-8")
    >>> for item in Source(p):
    ...     print(item)
    Record(index=0, position=1, id='a', text='Hà Nội')
    Reject(index=1, position=2, id=None, reason='not a JSON object but an array')
    Reject(index=2, position=3, id=2, reason="field 'text' is a number, not text")
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Iterator, Union

from .data import DataError

try:  # optional: 3-5x faster JSON for the streaming path; the stdlib is the fallback and the referee
    import orjson as _orjson
except ImportError:
    _orjson = None

_MISSING = object()


def _fast_loads(raw: bytes):
    if _orjson is None:
        return _MISSING
    return _orjson.loads(raw)

__all__ = ["Record", "Reject", "RawLine", "Item", "Source", "OutputWriter", "input_kind", "output_kind",
           "open_binary", "open_write", "dumps_bytes", "FOLDER_SUFFIXES"]

FOLDER_SUFFIXES = (".txt", ".html", ".htm")
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
# surrogateescape turns invalid UTF-8 bytes into lone surrogates U+DC80..U+DCFF
_ESCAPED_RE = re.compile("[\udc80-\udcff]")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
# A JSONL file where none of the first records has the text field is almost surely read
# with the wrong --text-field: stop instead of rejecting the whole dump line by line.
_MISSING_FIELD_LIMIT = 100


@dataclass(slots=True)
class Record:
    """A record to score: ``index`` (0-based, in input order), ``position``, ``id``, ``text``."""

    index: int
    position: Union[int, str]
    id: Any
    text: str


@dataclass(slots=True)
class Reject:
    """A record that cannot be scored: ``position`` is a line/row number or a file path."""

    index: int
    position: Union[int, str]
    id: Any
    reason: str

    def to_dict(self) -> dict:
        return {"position": self.position, "id": self.id, "reason": self.reason, "index": self.index}


@dataclass(slots=True)
class RawLine:
    """A JSONL line not parsed yet (``Source.defer``); ``Source.fields.parse_line`` makes the item."""

    index: int
    position: int
    raw: bytes


Item = Union[Record, Reject, RawLine]


# ---------------------------------------------------------------------------------------------
# Formats and compression.

def _strip_compression(name: str) -> tuple[str, str | None]:
    low = name.lower()
    for suffix, comp in ((".gz", "gzip"), (".zst", "zstd"), (".zstd", "zstd")):
        if low.endswith(suffix):
            return low[: -len(suffix)], comp
    return low, None


def input_kind(path: str | os.PathLike) -> str:
    """``"jsonl"``, ``"csv"``, ``"tsv"``, ``"parquet"``, ``"folder"`` or ``"stdin"``.

    >>> input_kind("dump.jsonl.zst"), input_kind("x.tsv"), input_kind("-")
    ('jsonl', 'tsv', 'stdin')
    """
    if str(path) == "-":
        return "stdin"
    if Path(path).is_dir():
        return "folder"
    base, comp = _strip_compression(str(path))
    if base.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if base.endswith(".csv"):
        return "csv"
    if base.endswith(".tsv"):
        return "tsv"
    if base.endswith((".parquet", ".pq")) and comp is None:
        return "parquet"
    raise DataError(f"{path}: unknown input format; use .jsonl (.gz/.zst), .csv, .tsv, .parquet, "
                    "a folder of .txt/.html files, or - for JSONL on stdin")


def output_kind(path: str | os.PathLike) -> str:
    """``"jsonl"``, ``"csv"`` or ``"parquet"`` from the output file name (``.gz``/``.zst`` allowed
    for JSONL and CSV).

    >>> output_kind("out.jsonl.gz"), output_kind("out.parquet")
    ('jsonl', 'parquet')
    """
    base, comp = _strip_compression(str(path))
    if base.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    if base.endswith(".csv"):
        return "csv"
    if base.endswith((".parquet", ".pq")) and comp is None:
        return "parquet"
    raise ValueError(f"{path}: unknown output format; name the output .jsonl, .csv or .parquet "
                     "(.jsonl.gz, .jsonl.zst, .csv.gz also work)")


def _decompress(raw: IO[bytes], comp: str | None) -> IO[bytes]:
    if comp == "gzip":
        return io.BufferedReader(gzip.GzipFile(fileobj=raw, mode="rb"), 1 << 20)
    if comp == "zstd":
        import zstandard

        reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
        return io.BufferedReader(reader, 1 << 20)
    return raw


def open_binary(path: str | os.PathLike) -> tuple[IO[bytes], IO[bytes]]:
    """``(decompressed stream, raw file)``: the raw file's position measures progress."""
    raw = open(path, "rb", buffering=1 << 20)
    return _decompress(raw, _strip_compression(str(path))[1]), raw


def open_write(path: str | os.PathLike, compress_as: str | os.PathLike) -> IO[bytes]:
    """A binary file for writing, compressed as the name ``compress_as`` says (``.gz``/``.zst``)."""
    comp = _strip_compression(str(compress_as))[1]
    if comp == "gzip":
        return gzip.open(path, "wb", compresslevel=6)
    if comp == "zstd":
        import zstandard

        return zstandard.ZstdCompressor(level=6).stream_writer(open(path, "wb"), closefd=True)
    return open(path, "wb", buffering=1 << 20)


# ---------------------------------------------------------------------------------------------
# Records from parsed rows.

def _json_kind(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, (int, float)):
        return "a number"
    if isinstance(v, (list, tuple)):
        return "an array"
    if isinstance(v, dict):
        return "an object"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, (bytes, bytearray)):
        return "bytes"
    return type(v).__name__


class _Fields:
    """Turns one parsed row (a dict) into a :class:`Record` or a :class:`Reject`."""

    def __init__(self, text: str, id_: str | None, title: str | None):
        self.text, self.id, self.title = text, id_, title

    def parse_line(self, index: int, lineno: int, raw: bytes) -> Item:
        """One JSONL line (bytes, not blank) to a :class:`Record` or a :class:`Reject`."""
        try:
            row = _fast_loads(raw)
        except Exception:  # noqa: BLE001 - the stdlib parser below gives the exact reason (or accepts it)
            row = _MISSING
        # orjson refuses lone surrogates ("\ud800"); only a row the stdlib parsed may hold them
        maybe_surrogates = row is _MISSING and (b"\\ud" in raw or b"\\uD" in raw)
        try:
            if row is _MISSING:
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    return Reject(index, lineno, None, f"invalid UTF-8 at byte {e.start} of the line")
                row = json.loads(line)
        except json.JSONDecodeError as e:
            return Reject(index, lineno, None, f"invalid JSON: {e.msg} at column {e.colno}")
        except RecursionError:
            return Reject(index, lineno, None, "invalid JSON: nested too deeply")
        if not isinstance(row, dict):
            return Reject(index, lineno, None, f"not a JSON object but {_json_kind(row)}")
        return self.make(index, lineno, row, maybe_surrogates)

    def make(self, index: int, position: int | str, row: dict, surrogates: bool = False) -> Item:
        """``surrogates``: the row may hold lone surrogates (a JSON ``"\\ud800"`` escape),
        which are not text: no encoder or model accepts them."""
        id_ = row.get(self.id) if self.id else None
        if id_ is None or id_ == "":
            id_ = index  # no id: the record's 0-based index keys it
        if self.text not in row:
            return Reject(index, position, id_, f"missing field {self.text!r}")
        text = row[self.text]
        if not isinstance(text, str):
            return Reject(index, position, id_, f"field {self.text!r} is {_json_kind(text)}, not text")
        if surrogates and _SURROGATE_RE.search(text):
            return Reject(index, position, id_, f"field {self.text!r} is not valid Unicode (a lone surrogate)")
        if self.title:
            title = row.get(self.title)
            if isinstance(title, str):
                if surrogates and _SURROGATE_RE.search(title):
                    return Reject(index, position, id_,
                                  f"field {self.title!r} is not valid Unicode (a lone surrogate)")
                # a title over an empty body is not an article: left out, the record is
                # scored as empty text (no labels, flag "empty") instead of as a headline
                if title and text.strip():
                    text = title + "\n" + text
            elif title is not None:
                return Reject(index, position, id_, f"field {self.title!r} is {_json_kind(title)}, not text")
        return Record(index, position, id_, text)


# ---------------------------------------------------------------------------------------------
# The readers.

class Source:
    """An input to score, iterated as :class:`Record`/:class:`Reject` items in input order.

    ``total`` is the number of records when it is known before reading (Parquet, folders);
    :meth:`fraction_read` estimates progress from the (compressed) bytes read otherwise.
    """

    def __init__(self, path: str | os.PathLike, text_field: str = "text", id_field: str | None = "id",
                 title_field: str | None = None):
        self.path = str(path)
        self.kind = input_kind(path)
        self.fields = _Fields(text_field, id_field, title_field)
        # JSONL only: yield RawLine items, for workers to parse (once a record has the text field)
        self.defer = False
        if self.kind not in ("stdin", "folder") and not Path(path).is_file():
            raise FileNotFoundError(f"{path}: no such input file or folder")
        self.total: int | None = None
        self._raw: IO[bytes] | None = None
        self._size = 0
        self._folder_digest: str | None = None
        if self.kind == "parquet":
            import pyarrow.parquet as pq

            self.total = pq.ParquetFile(self.path).metadata.num_rows
        elif self.kind == "folder":
            self.total, self._folder_digest = self._scan_folder()
        if self.kind not in ("stdin", "folder"):
            self._size = os.path.getsize(self.path)

    # -- identity, for resuming --------------------------------------------------------------
    def fingerprint(self) -> dict:
        """What must not change between a run and its resumption."""
        if self.kind == "stdin":
            raise ValueError("cannot resume a run that reads stdin; save the input to a file first")
        fp: dict = {"path": os.path.abspath(self.path), "kind": self.kind}
        if self.kind == "folder":
            fp.update(files=self.total, listing_sha256=self._folder_digest)
        else:
            st = os.stat(self.path)
            fp.update(size=st.st_size, mtime_ns=st.st_mtime_ns)
        return fp

    def fraction_read(self) -> float | None:
        """Share of the input file read so far (by compressed bytes), if measurable."""
        if self._raw is None or not self._size or self._raw.closed:
            return None
        try:
            return min(1.0, self._raw.tell() / self._size)
        except (OSError, ValueError):
            return None

    # -- iteration -----------------------------------------------------------------------------
    def __iter__(self) -> Iterator[Item]:
        if self.kind == "parquet":
            return self._parquet()
        if self.kind == "folder":
            return self._folder()
        return self._text_file()

    def _text_file(self) -> Iterator[Item]:
        if self.kind == "stdin":
            stream = _sniffed_stdin()
        else:
            stream, self._raw = open_binary(self.path)
        try:
            if self.kind == "jsonl" or self.kind == "stdin":
                yield from self._jsonl(stream)
            else:
                yield from self._csv(stream, "\t" if self.kind == "tsv" else ",")
        finally:
            if self.kind != "stdin":
                stream.close()
                self._raw.close()

    def _jsonl(self, stream: IO[bytes]) -> Iterator[Item]:
        index = objects = missing = 0
        guard = True  # until a record has the text field, the field name may be wrong
        for lineno, raw in enumerate(stream, 1):
            if lineno == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[3:]
            if not raw or raw.isspace():  # a blank line (without copying the line as strip would)
                continue
            if self.defer and not guard:
                yield RawLine(index, lineno, raw)  # parsed by a worker: less work for this process
                index += 1
                continue
            item = self.fields.parse_line(index, lineno, raw)
            if guard and not (isinstance(item, Reject) and item.id is None):  # a JSON object
                objects += 1
                has_field = not (isinstance(item, Reject) and item.reason == f"missing field {self.fields.text!r}")
                missing += not has_field
                guard = not has_field
                if objects == _MISSING_FIELD_LIMIT and missing == objects:
                    raise DataError(f"{self.path}: none of the first {objects} records has a field "
                                    f"{self.fields.text!r}; pass --text-field")
            yield item
            index += 1

    def _csv(self, stream: IO[bytes], delimiter: str) -> Iterator[Item]:
        # News articles overflow the csv module's default 128 KiB field limit (a global setting).
        csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))
        # Invalid UTF-8 must reject one row, not end the run: surrogateescape keeps the bytes
        # as lone surrogates that the row check below finds.
        text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
        reader = csv.reader(text, delimiter=delimiter)
        try:
            header = next(reader)
        except StopIteration:
            return
        if self.fields.text not in header:
            raise DataError(f"{self.path}: no column {self.fields.text!r} (columns: {header[:30]}); "
                            "pass --text-field")
        wanted = [c for c in (self.fields.id, self.fields.text, self.fields.title) if c and c in header]
        cols = {c: header.index(c) for c in wanted}
        index = 0
        while True:
            start = reader.line_num + 1
            try:
                values = next(reader)
            except StopIteration:
                break
            except csv.Error as e:
                if reader.line_num < start:  # nothing consumed: cannot go on
                    raise DataError(f"{self.path}: line {start}: {e}") from None
                yield Reject(index, start, None, f"malformed CSV: {e}")
                index += 1
                continue
            if not values:
                continue  # a blank line is not a record
            row = {c: values[i] for c, i in cols.items() if i < len(values)}
            if any(_ESCAPED_RE.search(v) for v in row.values()):
                id_ = row.get(self.fields.id) if self.fields.id else None
                bad_id = id_ is None or _ESCAPED_RE.search(id_) or id_ == ""
                yield Reject(index, start, index if bad_id else id_, "invalid UTF-8")
            else:
                yield self.fields.make(index, start, row)
            index += 1

    def _parquet(self) -> Iterator[Item]:
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(self.path)
        names = pf.schema_arrow.names
        if self.fields.text not in names:
            raise DataError(f"{self.path}: no column {self.fields.text!r} (columns: {names[:30]}); "
                            "pass --text-field")
        cols = [c for c in dict.fromkeys((self.fields.id, self.fields.text, self.fields.title)) if c and c in names]
        index = 0
        for batch in pf.iter_batches(batch_size=1024, columns=cols):
            data = batch.to_pydict()
            for i in range(batch.num_rows):
                yield self.fields.make(index, index + 1, {c: data[c][i] for c in cols})
                index += 1

    def _scan_folder(self) -> tuple[int, str]:
        h = hashlib.sha256()
        n = 0
        for rel, full in _walk(self.path):
            st = os.stat(full)
            h.update(f"{rel}\t{st.st_size}\t{st.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
            n += 1
        return n, h.hexdigest()

    def _folder(self) -> Iterator[Item]:
        from .text import DecodeError, read_text

        for index, (rel, full) in enumerate(_walk(self.path)):
            try:
                text = read_text(full)
            except DecodeError as e:
                yield Reject(index, rel, rel, str(e).replace(full, rel))
                continue
            except OSError as e:
                yield Reject(index, rel, rel, f"cannot read: {e.strerror or e}")
                continue
            yield Record(index, rel, rel, text)


def _walk(root: str) -> Iterator[tuple[str, str]]:
    """``(relative POSIX path, full path)`` of the text files under ``root``, in a fixed order:
    a folder's files sorted by name, then its subfolders, sorted; hidden entries are skipped."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith(".") or not name.lower().endswith(FOLDER_SUFFIXES):
                continue
            full = os.path.join(dirpath, name)
            yield Path(os.path.relpath(full, root)).as_posix(), full


def _sniffed_stdin() -> IO[bytes]:
    stream = sys.stdin.buffer
    head = stream.peek(4)[:4] if hasattr(stream, "peek") else b""
    if head.startswith(_GZIP_MAGIC):
        return _decompress(stream, "gzip")
    if head.startswith(_ZSTD_MAGIC):
        return _decompress(stream, "zstd")
    return stream


# ---------------------------------------------------------------------------------------------
# Outputs. Rows arrive as the UTF-8 JSON lines of the JSONL format; the CSV and Parquet
# writers convert them one at a time (Parquet: one row group at a time).

def dumps_bytes(obj: Any) -> bytes:
    """Compact UTF-8 JSON; ``\\uXXXX`` escapes only where a lone surrogate forbids raw UTF-8."""
    if _orjson is not None:
        try:
            return _orjson.dumps(obj, default=str)
        except TypeError:  # lone surrogates, integers beyond 64 bits: the stdlib handles them
            pass
    try:
        return json.dumps(obj, ensure_ascii=False, default=str).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(obj, ensure_ascii=True, default=str).encode("ascii")


def _id_str(v: Any) -> str:
    return v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str)


class OutputWriter:
    """Writes scored rows (JSON lines as bytes) to ``path`` in the format ``name`` implies.

    ``path`` is where bytes go (a temporary file), ``name`` the final name (format and
    compression); ``labels`` fix the Parquet ``scores`` struct.
    """

    def __init__(self, path: str | os.PathLike, name: str | os.PathLike, labels: list[str]):
        self.kind = output_kind(name)
        self.rows = 0
        if self.kind == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            self._pa = pa
            self._schema = pa.schema([
                ("id", pa.string()), ("labels", pa.list_(pa.string())),
                ("scores", pa.struct([(l, pa.float64()) for l in labels])),
                ("lang", pa.string()), ("flags", pa.list_(pa.string())),
            ])
            self._buffer: list[dict] = []
            self._writer = pq.ParquetWriter(str(path), self._schema, compression="zstd")
        else:
            self._fh = open_write(path, name)
            if self.kind == "csv":
                self._text = io.TextIOWrapper(self._fh, encoding="utf-8", errors="backslashreplace", newline="")
                self._csv = csv.writer(self._text)
                self._csv.writerow(["id", "labels", "scores", "lang", "flags"])

    def write_jsonl_stream(self, stream: IO[bytes]) -> None:
        """Append every row of a stream of JSON lines."""
        if self.kind == "jsonl":
            # the lines are already the output: copy bytes, count rows on the way
            while block := stream.read(1 << 20):
                self._fh.write(block)
                self.rows += block.count(b"\n")
            return
        for line in stream:
            if line.strip():
                self.write_row(json.loads(line))

    def write_row(self, row: dict) -> None:
        self.rows += 1
        if self.kind == "jsonl":
            self._fh.write(dumps_bytes(row) + b"\n")
        elif self.kind == "csv":
            # lists and the score map stay JSON inside their cells: unambiguous and round-trips
            self._csv.writerow([_id_str(row["id"]), json.dumps(row["labels"], ensure_ascii=False),
                                json.dumps(row["scores"], ensure_ascii=False), row["lang"],
                                json.dumps(row["flags"], ensure_ascii=False)])
        else:
            row = dict(row, id=_id_str(row["id"]))
            self._buffer.append(row)
            if len(self._buffer) >= 16_384:  # one row group: ~25 MB of Python rows at most
                self._flush()

    def _flush(self) -> None:
        if self._buffer:
            self._writer.write_table(self._pa.Table.from_pylist(self._buffer, schema=self._schema))
            self._buffer = []

    def close(self) -> None:
        if self.kind == "parquet":
            self._flush()
            self._writer.close()
        elif self.kind == "csv":
            self._text.close()
        else:
            self._fh.close()
