"""Streaming inputs and outputs for :mod:`topicclf.score`.

An input is read as a stream of :class:`Record` (to score) and :class:`Reject` (a record
that cannot be scored, with the reason) items, one per input record, in input order; no
reader holds more than one record (or one Parquet batch) at a time, and none holds a record
over :data:`MAX_RECORD_BYTES` (it is rejected unread). Damage to the input (a cut or
corrupt stream, an unterminated quote, an unreadable Parquet page or folder) is a
:class:`Reject` with ``damage=True`` at the position reached, never an exception or a
quiet end; see the reading layer below.

=================================  ====================================================
input                              read with
=================================  ====================================================
``x.jsonl`` / ``.jsonl.gz/.zst``   line by line (bytes); blank lines are not records
``x.csv`` / ``.tsv`` (``.gz``)     :mod:`csv` (strict quoting), first row is the header
``x.parquet``                      ``ParquetFile.iter_batches``, one row group at a time
a folder                           every ``.txt``/``.html``/``.htm`` file, decoded with
                                   :func:`topicclf.read_text`; id = relative path; links
                                   followed (not back into a parent folder)
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
import zlib
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Iterator, Union

from .data import DataError

try:  # optional: faster JSON than the stdlib (2x on ASCII lines), which is the fallback and the referee
    import orjson as _orjson
except ImportError:
    _orjson = None

try:  # optional C (setup.py): the wanted fields of a JSONL line in one pass; json.loads decides the rest
    from . import _jsonrec

    if os.environ.get("TOPICCLF_NO_EXT") == "1":
        _jsonrec = None
except ImportError:
    _jsonrec = None

_MISSING = object()


def _fast_loads(raw: bytes):
    if _orjson is None:
        return _MISSING
    return _orjson.loads(raw)

__all__ = ["Record", "Reject", "RawLines", "Item", "Source", "OutputWriter", "input_kind", "output_kind",
           "open_binary", "open_write", "dumps_bytes", "FOLDER_SUFFIXES"]

FOLDER_SUFFIXES = (".txt", ".html", ".htm")
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
# surrogateescape turns invalid UTF-8 bytes into lone surrogates U+DC80..U+DCFF
_ESCAPED_RE = re.compile("[\udc80-\udcff]")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
# a JSON escape of a surrogate (U+D800-U+DFFF): one regex scan is 3x faster than two `in` tests
_ESCAPED_SURROGATE_RE = re.compile(rb"\\u[dD][89a-fA-F]")
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
    # with a title field: the title put before the text (to tell a headline over an empty
    # body, which is scored as empty, from an article)
    title: Union[str, None] = field(default=None, repr=False)


@dataclass(slots=True)
class Reject:
    """A record that cannot be scored: ``position`` is a line/row number or a file path."""

    index: int
    position: Union[int, str]
    id: Any
    reason: str
    # damage to the input itself (a cut stream, an unterminated quote, an unreadable Parquet
    # page or folder): records may be lost or mis-split there, so a run that meets it fails
    damage: bool = field(default=False, repr=False)

    def to_dict(self) -> dict:
        d = {"position": self.position, "id": self.id, "reason": self.reason, "index": self.index}
        if self.damage:
            d["damage"] = True
        return d


@dataclass(slots=True)
class RawLines:
    """JSONL lines read but not parsed yet (``Source.defer``): ``records`` records, the first
    with index ``index``; ``blob`` holds whole lines, each with its ``b"\\n"``, the first on
    line ``position``, blank lines between records included. The scoring side parses them with
    ``Source.fields.parse_lines``, so the reading process only finds line breaks."""

    index: int
    position: int
    records: int
    blob: bytes


Item = Union[Record, Reject, RawLines]


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
        return io.BufferedReader(_Read1(_gzip_reader(raw)[0]), 1 << 20)
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
        self._names = tuple(dict.fromkeys(f for f in (text, id_, title) if f))

    def parse_line(self, index: int, lineno: int, raw: bytes) -> Item:
        """One JSONL line (bytes, not blank) to a :class:`Record` or a :class:`Reject`."""
        if _jsonrec is not None and len(self._names) <= 8:
            row = _jsonrec.fields(raw, self._names)  # None: an invalid or unusual line
            if row is not None:
                return self.make(index, lineno, row)
        return self._parse_py(index, lineno, raw)

    def _parse_py(self, index: int, lineno: int, raw: bytes) -> Item:
        try:
            row = _fast_loads(raw)
        except Exception:  # noqa: BLE001 - the stdlib parser below gives the exact reason (or accepts it)
            row = _MISSING
        if self.id and type(row) is dict and type(row.get(self.id)) is float:
            row = _MISSING  # orjson reads an integer of 64 bits or more as a float: the stdlib keeps it exact
        # orjson refuses lone surrogates ("\ud800"); only a row the stdlib parsed may hold them
        maybe_surrogates = row is _MISSING and _ESCAPED_SURROGATE_RE.search(raw) is not None
        try:
            if row is _MISSING:
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    return Reject(index, lineno, None, f"invalid UTF-8 at byte {e.start} of the line")
                row = json.loads(line)
        except json.JSONDecodeError as e:
            return Reject(index, lineno, None, f"invalid JSON: {e.msg} at column {e.colno}")
        except ValueError as e:  # an integer over Python's digit limit (sys.set_int_max_str_digits)
            return Reject(index, lineno, None, f"unreadable JSON: {str(e).split(':')[0]}")
        except RecursionError:
            return Reject(index, lineno, None, "invalid JSON: nested too deeply")
        if not isinstance(row, dict):
            return Reject(index, lineno, None, f"not a JSON object but {_json_kind(row)}")
        return self.make(index, lineno, row, maybe_surrogates)

    def parse_lines(self, run: RawLines) -> list[Item]:
        """The records of a :class:`RawLines` run, numbered as the reader numbered its lines."""
        out: list[Item] = []
        index, lineno = run.index, run.position - 1
        if _jsonrec is not None and len(self._names) <= 8:  # every line in one C call
            for k, row in _jsonrec.lines(run.blob, self._names):
                lineno = run.position + k
                out.append(self.make(index, lineno, row) if type(row) is dict else self._parse_py(index, lineno, row))
                index += 1
        else:
            for raw in run.blob.split(b"\n")[:-1]:  # the blob ends with a line break
                lineno += 1
                if raw and not raw.isspace():  # blank lines are not records (as when reading)
                    out.append(self._parse_py(index, lineno, raw))
                    index += 1
        if len(out) != run.records:  # the reader and this disagree on what a record is
            raise RuntimeError(f"lines {run.position}-{lineno}: {len(out)} records where the reader counted {run.records}")
        return out

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
                # scored as empty text (no labels, flag "empty") instead of as a headline; a
                # body that cleans to nothing (boilerplate, entities) is found when scoring
                if title and text.strip():
                    return Record(index, position, id_, title + "\n" + text, title)
            elif title is not None:
                return Reject(index, position, id_, f"field {self.title!r} is {_json_kind(title)}, not text")
        return Record(index, position, id_, text)


# ---------------------------------------------------------------------------------------------
# The reading layer. Every byte stream (plain, gzip or zstd; a file or stdin) is read through
# _Lines: it gives the lines, hashes the bytes consumed (resuming checks the input's content
# with it) and, when the stream cannot be read to its end (cut, corrupt, a read error), stops
# with a description of the damage instead of raising or ending quietly. The readers turn
# damage into a Reject flagged ``damage`` at the position reached: a run that meets one fails.

# A record (a JSONL line, a CSV row, a folder file) longer than this is rejected unread, so that
# memory stays bounded whatever the input (an unterminated CSV quote, a file without newlines).
MAX_RECORD_BYTES = 64 << 20
_BLOCK = 1 << 20
_OVERLONG = object()  # a line over MAX_RECORD_BYTES, passed over


def _limit_text() -> str:
    n = MAX_RECORD_BYTES
    return f"{n >> 20} MiB" if n >= 1 << 20 else f"{n:,} bytes"


class _Cut(Exception):
    """A compressed stream that ends in the middle of its data."""


class _RowTooLong(Exception):
    """A CSV row over MAX_RECORD_BYTES (raised from the lines fed to csv.reader)."""


class _ZstdFrames:
    """A raw zstd file that follows the frame structure of the bytes read through it (RFC 8878:
    frame and block headers, checksums, skippable frames), to tell a cut stream from a whole
    one: zstandard's stream reader ends quietly at a cut."""

    _MAGIC = b"\x28\xb5\x2f\xfd"

    def __init__(self, raw: IO[bytes]):
        self.raw = raw
        self._state, self._need, self._head, self._skip, self._checksum = "magic", 4, b"", 0, 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        if self._state != "bad":
            self._feed(data)
        return data

    def complete(self) -> bool:
        """Whether the bytes read so far end between two frames."""
        return self._state == "magic" and not self._head and not self._skip

    def _feed(self, data: bytes) -> None:
        i, n = 0, len(data)
        while i < n:
            if self._skip:
                k = min(self._skip, n - i)
                self._skip -= k
                i += k
                continue
            k = min(self._need - len(self._head), n - i)
            self._head += data[i : i + k]
            i += k
            if len(self._head) == self._need:
                head, self._head = self._head, b""
                self._step(head)
                if self._state == "bad":
                    return

    def _step(self, h: bytes) -> None:
        if self._state == "magic":
            if h == self._MAGIC:
                self._state, self._need = "header", 1
            elif h[0] & 0xF0 == 0x50 and h[1:] == b"\x2a\x4d\x18":
                self._state, self._need = "skippable", 4
            else:
                self._state = "bad"  # not zstd data: the decompressor says so
        elif self._state == "skippable":
            self._skip = int.from_bytes(h, "little")
            self._state, self._need = "magic", 4
        elif self._state == "header":  # the frame header descriptor
            d = h[0]
            single = d >> 5 & 1
            self._checksum = 4 if d & 4 else 0
            self._skip = (0 if single else 1) + (0, 1, 2, 4)[d & 3] + ((1 if single else 0), 2, 4, 8)[d >> 6]
            self._state, self._need = "block", 3
        else:  # a block header: last-block bit, type, size
            v = int.from_bytes(h, "little")
            kind = v >> 1 & 3
            if kind == 3:
                self._state = "bad"
                return
            self._skip = 1 if kind == 1 else v >> 3
            if v & 1:
                self._skip += self._checksum
                self._state, self._need = "magic", 4


class _ZstdStream:
    """The decompressed bytes of every frame of a zstd stream; :class:`_Cut` at a cut."""

    def __init__(self, raw: IO[bytes]):
        import zstandard

        self._frames = _ZstdFrames(raw)
        self._reader = zstandard.ZstdDecompressor().stream_reader(self._frames, read_across_frames=True,
                                                                  closefd=False)

    def read(self, size: int) -> bytes:
        data = self._reader.read(size)
        if not data and not self._frames.complete():
            raise _Cut("the zstd stream is cut: it ends inside a frame")
        return data

    def close(self) -> None:
        self._reader.close()


def _open_stream(raw: IO[bytes], comp: str | None) -> tuple[IO[bytes], Any]:
    """A buffered binary stream of the decompressed bytes of ``raw``, and its ``close()``."""
    if comp == "gzip":
        reader, close = _gzip_reader(raw)
    elif comp == "zstd":
        z = _ZstdStream(raw)
        reader, close = z.read, z.close
    elif isinstance(raw, io.BufferedReader):
        return raw, (lambda: None)
    else:
        reader, close = raw.read, (lambda: None)
    return io.BufferedReader(_Read1(reader), _BLOCK), close


class _GzipMembers:
    """The decompressed bytes of every member of a gzip stream, through ISA-L (``isal``: about 3x
    faster than zlib). Like :class:`gzip.GzipFile`, members follow each other, zero padding
    after one is skipped and a cut raises :class:`EOFError`; unlike ``isal.igzip``, no byte
    decompressed before a cut is lost (each call returns what the input gave)."""

    _READ = 1 << 17

    def __init__(self, raw: IO[bytes], zlib_module):
        self._raw, self._zlib = raw, zlib_module
        self._d = zlib_module.decompressobj(31)  # 31: a gzip header and trailer (CRC checked)
        self._fed = False  # the current member has had input
        self._flushed = False

    def read(self, size: int) -> bytes:
        while True:
            d = self._d
            if d.unconsumed_tail:
                out = d.decompress(d.unconsumed_tail, size)
            elif d.eof:  # a member ended: another one, zero padding, or the end
                rest = d.unused_data.lstrip(b"\0")
                while not rest:
                    more = self._raw.read(self._READ)
                    if not more:
                        return b""
                    rest = more.lstrip(b"\0")
                if not _GZIP_MAGIC.startswith(rest[:2]):
                    raise gzip.BadGzipFile(f"Not a gzipped file ({rest[:2]!r})")
                self._d, self._fed = self._zlib.decompressobj(31), True
                out = self._d.decompress(rest, size)
            else:
                data = self._raw.read(self._READ)
                if not data:
                    if not self._fed:
                        return b""  # an empty file
                    if not self._flushed:  # the input ends inside a member: what it gave first
                        self._flushed = True
                        if out := d.flush():
                            return out
                    raise EOFError("Compressed file ended before the end-of-stream marker was reached")
                self._fed = True
                out = d.decompress(data, size)
            if out:
                return out

    def close(self) -> None:
        pass


def _gzip_reader(raw: IO[bytes]):
    """``(read, close)`` of the decompressed bytes of a gzip stream: ISA-L where installed."""
    try:
        from isal import isal_zlib
    except ImportError:
        g = gzip.GzipFile(fileobj=raw, mode="rb")
        return g.read1, g.close
    g = _GzipMembers(raw, isal_zlib)
    return g.read, g.close


def _read_error(e: BaseException, comp: str | None) -> str:
    """What a failed read of the input means, in words."""
    if isinstance(e, _Cut):
        return str(e)
    if isinstance(e, EOFError):
        return f"the {comp or 'compressed'} stream is cut: {e}"
    if isinstance(e, gzip.BadGzipFile):
        return f"not valid gzip data: {e}"
    if isinstance(e, zlib.error) or type(e).__name__ == "IsalError":
        return f"corrupt gzip data: {e}"
    if type(e).__name__ == "ZstdError":
        return f"corrupt zstd data: {e}"
    if isinstance(e, OSError):
        return f"read error: {e.strerror or e}"
    return f"unreadable: {type(e).__name__}: {e}"


class _NoHash:
    def update(self, data) -> None:
        pass

    def hexdigest(self) -> str:
        return ""


class _Read1(io.RawIOBase):
    """A raw stream over a ``read(n)`` that returns what it has (``GzipFile.read1``): under an
    :class:`io.BufferedReader`, a read that fails loses no byte decompressed before it (a
    ``GzipFile.read(n)`` that hits a cut drops the whole block it was filling)."""

    def __init__(self, read):
        self._read = read
        self.given = 0  # bytes handed to the buffer

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        data = self._read(len(b))
        n = len(data)
        b[:n] = data
        self.given += n
        return n


class _Lines:
    """The lines of a binary stream, each with its ``b"\\n"`` (the last may lack it); a line
    over ``MAX_RECORD_BYTES`` is passed over, unread, and given as ``_OVERLONG``.

    ``damage`` is ``None`` or why the stream could not be read to its end: the lines given
    before it are whole, a partial line at the damage is dropped (``partial``). ``hasher`` is
    updated with every line given (and every byte passed over), in order.
    """

    def __init__(self, stream: IO[bytes], comp: str | None, hasher, limit: int | None = None):
        self._stream, self._comp, self._h = stream, comp, hasher
        self._limit = MAX_RECORD_BYTES if limit is None else limit
        self.damage: str | None = None
        self.partial = False
        self.consumed = 0  # bytes given or passed over

    def __iter__(self) -> Iterator[bytes]:
        readline, update, limit = self._stream.readline, self._h.update, self._limit
        consumed = 0
        try:
            while True:
                line = readline(limit + 1)
                if not line:
                    break
                update(line)
                consumed += len(line)
                if len(line) > limit and line[-1] != 10:  # over the limit: pass over the rest
                    while (more := readline(1 << 20)) and more[-1] != 10:
                        update(more)
                        consumed += len(more)
                    update(more)
                    consumed += len(more)
                    self.consumed = consumed
                    yield _OVERLONG
                    continue
                self.consumed = consumed
                yield line
        except MemoryError:
            raise
        except Exception as e:  # noqa: BLE001 - whatever stops the stream is damage, described
            self.damage = _read_error(e, self._comp)
            # bytes were read past the last whole line: a line cut at the damage
            self.partial = getattr(getattr(self._stream, "raw", None), "given", consumed) > consumed

    def blocks(self) -> Iterator[Any]:
        """The rest of the stream in big pieces (for the deferred JSONL reader, after iterating
        stopped): ``bytes`` of whole lines, each ending in ``b"\\n"`` and at most ``limit + 1``
        bytes long; ``_OVERLONG`` for a line passed over; last, the final line if it has no line
        break. Only the bytes passed over are hashed here: the caller hashes what it takes, as
        it takes it (the digest at the end of a chunk must end with the chunk's last line)."""
        read, limit, update = self._stream.read1, self._limit, self._h.update
        size = min(_BLOCK, limit + 1)  # so that a line within one read is never over the limit
        carry: list[bytes] = []  # the start of a line that has not ended yet
        carried = 0
        skipping = False  # passing over a line over the limit
        try:
            while data := read(size):
                if skipping:
                    nl = data.find(b"\n") + 1
                    update(data[:nl] if nl else data)
                    if not nl:
                        continue
                    skipping = False
                    yield _OVERLONG
                    data = data[nl:]
                nl = data.rfind(b"\n") + 1
                if not nl:
                    carry.append(data)
                    carried += len(data)
                    if carried > limit:
                        for piece in carry:
                            update(piece)
                        carry, carried, skipping = [], 0, True
                    continue
                head = 0
                if carry:  # the carried line ends here
                    head = data.find(b"\n") + 1
                    line = b"".join([*carry, data[:head]])
                    carry, carried = [], 0
                    if len(line) > limit + 1:
                        update(line)
                        yield _OVERLONG
                    else:
                        yield line
                if head < nl:
                    yield data if head == 0 and nl == len(data) else data[head:nl]
                if nl < len(data):
                    carry, carried = [data[nl:]], len(data) - nl
        except MemoryError:
            raise
        except Exception as e:  # noqa: BLE001 - as when iterating: damage, described
            self.damage = _read_error(e, self._comp)
            self.partial = bool(carried) or skipping
            return
        if skipping:
            yield _OVERLONG
        elif carry:
            yield b"".join(carry)

    def damage_reason(self, line: int) -> str:
        where = (f"line {line} is incomplete and any records after it are lost" if self.partial
                 else f"any records after line {line - 1} are lost")
        return f"input damaged: {self.damage}; {where}"


class _CsvLines:
    """The lines fed to :func:`csv.reader`: decoded (invalid UTF-8 kept as lone surrogates for
    the row check), split at ``\\r``, ``\\n`` and ``\\r\\n`` as csv expects, numbered. The lines
    of the row being read are kept, so that a row broken by an unterminated quote can be
    rejected and the lines after its first one read again as rows (``replay``)."""

    def __init__(self, lines: _Lines):
        self._it = iter(lines)
        self._split: deque = deque()  # the rest of a line split at a lone "\r"
        self.replay: deque = deque()
        self.row: list[tuple[int, str]] = []
        self.size = 0
        self.lineno = 0
        self.eof = False

    def start_row(self) -> None:
        self.row = []
        self.size = 0
        self.eof = False

    def __iter__(self):
        return self

    def __next__(self) -> str:
        if self.replay:
            item = self.replay.popleft()
        elif self._split:
            self.lineno += 1
            item = (self.lineno, self._split.popleft())
        else:
            raw = next(self._it, None)
            if raw is None:
                self.eof = True
                raise StopIteration
            self.lineno += 1
            if raw is _OVERLONG:
                self.row.append((self.lineno, ""))
                raise _RowTooLong
            if self.lineno == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[3:]
            if b"\r" in raw:
                parts = raw.splitlines(keepends=True)
                if len(parts) > 1:
                    raw = parts[0]
                    self._split.extend(p.decode("utf-8", "surrogateescape") for p in parts[1:])
            item = (self.lineno, raw.decode("utf-8", "surrogateescape"))
        self.row.append(item)
        self.size += len(item[1])
        if self.size > MAX_RECORD_BYTES:
            raise _RowTooLong
        return item[1]


class Source:
    """An input to score, iterated as :class:`Record`/:class:`Reject` items in input order.

    ``total`` is the number of records when it is known before reading (Parquet, folders);
    :meth:`fraction_read` estimates progress from the (compressed) bytes read otherwise.
    :meth:`digest` is the SHA-256 of what was read so far (resuming checks the input with it).
    Damage to the input (a cut or corrupt stream, an unterminated CSV quote, an unreadable
    Parquet page or folder) ends as a :class:`Reject` with ``damage=True`` at the position
    reached, never as an exception or a quiet end.
    """

    def __init__(self, path: str | os.PathLike, text_field: str = "text", id_field: str | None = "id",
                 title_field: str | None = None):
        self.path = str(path)
        self.kind = input_kind(path)
        self.fields = _Fields(text_field, id_field, title_field)
        # JSONL only: once a record has the text field, yield the lines as RawLines runs, to be
        # parsed where they are scored (a worker process, a scoring thread)
        self.defer = False
        self.chunk_records: int | None = None  # set by chunks(): runs end at chunk boundaries
        if self.kind not in ("stdin", "folder") and not Path(path).is_file():
            if os.path.lexists(path) and not os.path.exists(path):
                raise FileNotFoundError(f"{path}: a broken symbolic link (its target does not exist)")
            raise FileNotFoundError(f"{path}: no such input file or folder")
        self.total: int | None = None
        self._raw: IO[bytes] | None = None
        self._hash = _NoHash() if self.kind == "stdin" else hashlib.sha256()
        self._size = 0
        self._folder_digest: str | None = None
        if self.kind == "parquet":
            self.total = self._parquet_file().metadata.num_rows
        elif self.kind == "folder":
            self.total, self._folder_digest = self._scan_folder()
        if self.kind not in ("stdin", "folder"):
            self._size = os.path.getsize(self.path)

    # -- identity, for resuming --------------------------------------------------------------
    def fingerprint(self) -> dict:
        """What must not change between a run and its resumption (besides :meth:`digest`)."""
        if self.kind == "stdin":
            raise ValueError("cannot resume a run that reads stdin; save the input to a file first")
        fp: dict = {"path": os.path.abspath(self.path), "kind": self.kind}
        if self.kind == "folder":
            fp.update(files=self.total, listing_sha256=self._folder_digest)
        else:
            st = os.stat(self.path)
            fp.update(size=st.st_size, mtime_ns=st.st_mtime_ns)
        return fp

    def digest(self) -> str:
        """SHA-256 of the input read so far: the bytes of the lines read (JSONL, CSV; after
        decompression), the column chunks of the row groups started (Parquet), the paths and
        bytes of the files read (folder). Empty for stdin."""
        return self._hash.hexdigest()

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
            raw = sys.stdin.buffer
            head = raw.peek(4)[:4] if hasattr(raw, "peek") else b""
            comp = "gzip" if head.startswith(_GZIP_MAGIC) else "zstd" if head.startswith(_ZSTD_MAGIC) else None
        else:
            try:
                raw = open(self.path, "rb", buffering=_BLOCK)
            except OSError as e:
                raise DataError(f"{self.path}: cannot read: {e.strerror or e}") from None
            self._raw = raw
            comp = _strip_compression(self.path)[1]
        stream, close = _open_stream(raw, comp)
        lines = _Lines(stream, comp, self._hash)
        try:
            if self.kind == "jsonl" or self.kind == "stdin":
                yield from self._jsonl(lines)
            else:
                yield from self._csv(lines, "\t" if self.kind == "tsv" else ",")
        finally:
            close()
            if self.kind != "stdin":
                raw.close()

    def _jsonl(self, lines: _Lines) -> Iterator[Item]:
        index = objects = missing = lineno = 0
        guard = True  # until a record has the text field, the field name may be wrong
        it = iter(lines)
        for raw in it:
            lineno += 1
            if raw is _OVERLONG:
                yield Reject(index, lineno, None, f"line longer than {_limit_text()}: not read")
                index += 1
                continue
            if lineno == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[3:]
            if not raw or raw.isspace():  # a blank line (without copying the line as strip would)
                continue
            item = self._parse(index, lineno, raw)
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
            if self.defer and not guard:
                it.close()  # the rest goes in blocks, parsed where it is scored
                yield from self._jsonl_deferred(lines, index, lineno)
                return
        if lines.damage is not None:
            yield Reject(index, lineno + 1, None, lines.damage_reason(lineno + 1), damage=True)

    def _parse(self, index: int, lineno: int, raw: bytes) -> Item:
        last = raw[-1] != 10
        # parsed without its line break, as RawLines lines are: a reject's column is then the
        # same however the line was read (with the break, json.loads counts from line 2)
        item = self.fields.parse_line(index, lineno, raw if last else raw[:-1])
        if last and isinstance(item, Reject) and item.reason.startswith("invalid JSON"):
            # only the last line of the input can lack its line break: a plain file cut in the
            # middle of a line (a copy or a write that stopped)
            item.reason += ("; it is the last line and has no line break: the file may be cut "
                            "there, and any records after it lost")
            item.damage = True
        return item

    def _jsonl_deferred(self, lines: _Lines, index: int, lineno: int) -> Iterator[Item]:
        """The lines after ``lineno`` as :class:`RawLines` runs (none spans two chunks of
        ``self.chunk_records``), and rejects of lines over the limit: the same records, rejects
        and digests as reading line by line, at a fraction of the cost per line."""
        size = self.chunk_records or 1 << 62
        update = self._hash.update
        for block in lines.blocks():
            if block is _OVERLONG:
                lineno += 1
                yield Reject(index, lineno, None, f"line longer than {_limit_text()}: not read")
                index += 1
                continue
            if block[-1] != 10:  # the last line, without a line break
                update(block)
                lineno += 1
                if not block.isspace():
                    yield self._parse(index, lineno, block)
                    index += 1
                continue
            pos, end, find, view = 0, len(block), block.find, memoryview(block)
            while pos < end:
                start, first, want, got = pos, lineno + 1, size - index % size, 0
                while pos < end and got < want:
                    nl = find(b"\n", pos) + 1
                    lineno += 1
                    if block[pos] > 32 or not block[pos:nl].isspace():  # not a blank line
                        got += 1
                    pos = nl
                update(view[start:pos])
                if got:
                    yield RawLines(index, first, got, block if pos - start == end else block[start:pos])
                    index += got
        if lines.damage is not None:
            yield Reject(index, lineno + 1, None, lines.damage_reason(lineno + 1), damage=True)

    def chunks(self, size: int) -> Iterator[list[Item]]:
        """The items in lists of ``size`` records (the last list may hold fewer): the unit of
        work and of checkpoints of :func:`topicclf.score_file`. A :class:`RawLines` counts its
        records and never spans two lists."""
        self.chunk_records = size
        chunk: list[Item] = []
        n = 0
        for item in self:
            chunk.append(item)
            n += item.records if type(item) is RawLines else 1
            if n >= size:
                yield chunk
                chunk, n = [], 0
        if chunk:
            yield chunk

    def _csv(self, lines: _Lines, delimiter: str) -> Iterator[Item]:
        # News articles overflow the csv module's default 128 KiB field limit (a global setting);
        # _CsvLines bounds a row instead.
        csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))
        feed = _CsvLines(lines)
        # strict: a quote that is not closed where it should be is an error, not a field that
        # swallows the next rows; a mistake within one line is read leniently, as it always was
        reader = csv.reader(feed, delimiter=delimiter, strict=True)
        try:
            header = next(reader)
        except StopIteration:
            header = None
        except (csv.Error, _RowTooLong) as e:
            raise DataError(f"{self.path}: line 1: cannot read the header row: {e or 'too long'}") from None
        if header is None:
            if lines.damage is not None:
                yield Reject(0, feed.lineno + 1, None, lines.damage_reason(feed.lineno + 1), damage=True)
            return
        if self.fields.text not in header:
            raise DataError(f"{self.path}: no column {self.fields.text!r} (columns: {header[:30]}); "
                            "pass --text-field")
        wanted = [c for c in (self.fields.id, self.fields.text, self.fields.title) if c and c in header]
        cols = {c: header.index(c) for c in wanted}
        index = 0
        while True:
            feed.start_row()
            try:
                values = next(reader)
            except StopIteration:
                break
            except (csv.Error, _RowTooLong) as e:
                row = feed.row
                start = row[0][0] if row else feed.lineno
                if isinstance(e, csv.Error) and len(row) == 1 and not feed.eof:
                    try:  # a quoting mistake within one line
                        values = next(csv.reader([row[0][1]], delimiter=delimiter))
                    except csv.Error as e2:
                        yield Reject(index, start, None, f"malformed CSV: {e2}")
                        index += 1
                        continue
                else:
                    yield Reject(index, start, None, _broken_row(e, row, feed.eof), damage=True)
                    feed.replay.extendleft(reversed(row[1:]))
                    index += 1
                    continue
            if not values:
                continue  # a blank line is not a record
            start = feed.row[0][0]
            row = {c: values[i] for c, i in cols.items() if i < len(values)}
            if any(_ESCAPED_RE.search(v) for v in row.values()):
                id_ = row.get(self.fields.id) if self.fields.id else None
                bad_id = id_ is None or _ESCAPED_RE.search(id_) or id_ == ""
                yield Reject(index, start, index if bad_id else id_, "invalid UTF-8")
            else:
                yield self.fields.make(index, start, row)
            index += 1
        if lines.damage is not None:
            yield Reject(index, feed.lineno + 1, None, lines.damage_reason(feed.lineno + 1), damage=True)

    def _parquet_file(self):
        import pyarrow.parquet as pq

        try:
            return pq.ParquetFile(self.path)
        except Exception as e:  # noqa: BLE001 - pyarrow raises many kinds for a bad file
            raise DataError(f"{self.path}: cannot be read as Parquet ({type(e).__name__}: {e})") from None

    def _parquet(self) -> Iterator[Item]:
        import pyarrow as pa

        pf = self._parquet_file()
        names = pf.schema_arrow.names
        if self.fields.text not in names:
            raise DataError(f"{self.path}: no column {self.fields.text!r} (columns: {names[:30]}); "
                            "pass --text-field")
        cols = [c for c in dict.fromkeys((self.fields.id, self.fields.text, self.fields.title)) if c and c in names]
        index = 0
        with open(self.path, "rb") as fh:
            for g in range(pf.num_row_groups):
                end = index + pf.metadata.row_group(g).num_rows
                try:
                    self._hash_row_group(fh, pf.metadata.row_group(g), g, cols)
                    for batch in pf.iter_batches(batch_size=1024, row_groups=[g], columns=cols):
                        data = batch.to_pydict()
                        for i in range(batch.num_rows):
                            yield self.fields.make(index, index + 1, {c: data[c][i] for c in cols})
                            index += 1
                except (pa.ArrowException, OSError, ValueError, EOFError) as e:
                    # an unreadable page: the rest of its row group is rejected row by row (the
                    # count is in the file's metadata), and the next row groups are read
                    reason = (f"input damaged: unreadable Parquet data in row group {g} (rows {index + 1}-{end}): "
                              f"{type(e).__name__}: {e}")
                    self._hash.update(reason.encode("utf-8", "replace"))
                    while index < end:
                        yield Reject(index, index + 1, index, reason, damage=True)
                        index += 1

    def _hash_row_group(self, fh, rg, g: int, cols: list[str]) -> None:
        """Hash the column chunks of row group ``g`` that are read (the raw file bytes)."""
        for j in range(rg.num_columns):
            c = rg.column(j)
            if c.path_in_schema.split(".")[0] not in cols:
                continue
            starts = [o for o in (c.dictionary_page_offset, c.data_page_offset) if o]
            start, left = (min(starts) if starts else 0), c.total_compressed_size
            self._hash.update(f"{g}:{j}:{rg.num_rows}:{start}:{left}\n".encode())
            fh.seek(start)
            while left > 0 and (block := fh.read(min(left, _BLOCK))):
                self._hash.update(block)
                left -= len(block)

    def _scan_folder(self) -> tuple[int, str]:
        h = hashlib.sha256()
        n = 0
        for rel, full, problem, _ in _walk(self.path):
            try:
                st = os.stat(full)
                h.update(f"{rel}\t{st.st_size}\t{st.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
            except OSError as e:
                h.update(f"{rel}\t{e.errno}\t{problem}\n".encode("utf-8", "surrogateescape"))
            n += 1
        return n, h.hexdigest()

    def _folder(self) -> Iterator[Item]:
        from .text import DecodeError, read_text

        for index, (rel, full, problem, damage) in enumerate(_walk(self.path)):
            name = rel.encode("utf-8", "surrogateescape")
            if problem is None:
                data, problem = _read_file(full)
            else:
                data = None
            if data is None:
                self._hash.update(name + b"\0" + problem.encode("utf-8", "surrogateescape") + b"\0")
                yield Reject(index, rel, rel, problem, damage=damage)
                continue
            self._hash.update(name + b"\0" + str(len(data)).encode() + b"\0")
            self._hash.update(data)
            try:
                text = read_text(data)
            except DecodeError as e:
                yield Reject(index, rel, rel, str(e).replace("<bytes>", rel))
                continue
            yield Record(index, rel, rel, text)


def _read_file(path: str) -> tuple[bytes | None, str | None]:
    """``(bytes, None)``, or ``(None, why it cannot be read)``: a broken or looping symbolic
    link, not a regular file (a FIFO would block forever), too big, an OS error."""
    import errno
    import stat

    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; regular files ignore it
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as e:
        if e.errno == errno.ENOENT and os.path.islink(path):
            return None, "cannot read: a broken symbolic link (its target does not exist)"
        if e.errno == errno.ELOOP:
            return None, "cannot read: a symbolic link loop"
        return None, f"cannot read: {e.strerror or e}"
    with os.fdopen(fd, "rb") as f:
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                kind = ("a FIFO" if stat.S_ISFIFO(st.st_mode) else "a socket" if stat.S_ISSOCK(st.st_mode)
                        else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else "not a file")
                return None, f"not a regular file ({kind}): not read"
            if st.st_size > MAX_RECORD_BYTES:
                return None, f"file larger than {_limit_text()}: not read"
            data = f.read(MAX_RECORD_BYTES + 1)
        except OSError as e:
            return None, f"cannot read: {e.strerror or e}"
    if len(data) > MAX_RECORD_BYTES:
        return None, f"file larger than {_limit_text()}: not read"
    return data, None


def _broken_row(e: BaseException, row: list[tuple[int, str]], eof: bool) -> str:
    start = row[0][0] if row else 0
    then = f"this record is rejected and the lines after line {start} are read as new rows"
    if isinstance(e, _RowTooLong):
        return (f"input damaged: the row that starts on line {start} runs over {_limit_text()} "
                f"(a quote that is never closed?); {then}")
    if eof:
        return (f"input damaged: unterminated quote: a quoted field of the row that starts on line {start} "
                f"is not closed before the end of the input; {then}")
    return (f"input damaged: unterminated quote: a quoted field of the row that starts on line {start} runs "
            f"into line {row[-1][0]} ({e}); {then}")


def _walk(root: str) -> Iterator[tuple[str, str, str | None, bool]]:
    """``(relative POSIX path, full path, problem, damage)`` of the text files under ``root``, in
    a fixed order: a folder's files sorted by name, then its subfolders, sorted; hidden entries
    are skipped; symbolic links are followed, except back into a folder being read.
    ``problem`` (else ``None``) says why an entry cannot be read: a folder that cannot be listed
    (``damage``: its files are unknown) or a link back to a parent folder."""
    st = os.stat(root)
    yield from _walk_dir(root, "", frozenset({(st.st_dev, st.st_ino)}))


def _walk_dir(folder: str, prefix: str, parents: frozenset) -> Iterator[tuple[str, str, str | None, bool]]:
    try:
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as e:
        yield prefix or "./", folder, f"input damaged: cannot list the folder: {e.strerror or e}", True
        return
    subfolders = []
    for entry in entries:
        if entry.name.startswith("."):
            continue
        try:
            is_dir = entry.is_dir()  # follows links
        except OSError:
            is_dir = False
        if is_dir:
            subfolders.append(entry)
        elif entry.name.lower().endswith(FOLDER_SUFFIXES):
            yield prefix + entry.name, entry.path, None, False
    for entry in subfolders:
        rel = prefix + entry.name + "/"
        try:
            st = os.stat(entry.path)
        except OSError as e:
            yield rel, entry.path, f"input damaged: cannot open the folder: {e.strerror or e}", True
            continue
        key = (st.st_dev, st.st_ino)
        if key in parents:
            yield rel, entry.path, "a symbolic link to a folder that contains it (a loop): not followed", False
            continue
        yield from _walk_dir(entry.path, rel, parents | {key})


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
