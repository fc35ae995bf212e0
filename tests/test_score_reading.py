"""The fast JSONL reading path of batch scoring (#12): lines read in blocks and parsed where they
are scored give exactly the records, rejects, positions and checkpoint digests of reading line
by line; ISA-L gzip reads what the standard library reads; a number json.loads cannot read is a
reject, not a failed run."""

from __future__ import annotations

import gzip
import io
import json
import random

import pytest

from topicclf import score_io
from topicclf.score import score_file
from topicclf.score_io import RawLines, Reject, Source


def _line(rng: random.Random, i: int) -> bytes:
    kind = rng.random()
    text = rng.choice(["Hà Nội mưa to", "Giá vàng tăng mạnh", "The match ended 2-1", "x" * rng.randint(1, 90)])
    if kind < 0.55:
        return json.dumps({"id": f"r{i}", "text": text}, ensure_ascii=rng.random() < 0.3).encode() + b"\n"
    if kind < 0.65:
        return rng.choice([b"\n", b"   \n", b"\r\n", b"\t \x0b\x0c\n"])  # blank lines: not records
    if kind < 0.72:
        return b'{"id": %d, "text": "%s"}\r\n' % (i, text.encode())  # CRLF
    if kind < 0.80:
        return rng.choice([b"[1, 2]\n", b"{bad json\n", b'{"id": "cut"\n', b'{"text": "x"} extra\r\n', b"\x00\n",
                           b'{"text": 5}\n', b'{"id": "a"}\n',
                           b'{"text": "\xff\xfe"}\n', b'{"text": "\\ud800"}\n', b'  {"text": "lead"}\n'])
    if kind < 0.88:
        return b'{"id": "long%d", "text": "%s"}\n' % (i, b"y" * rng.randint(100, 400))  # over the limit
    return json.dumps({"text": text, "title": "T", "n": [1, {"a": None}]}).encode() + b"\n"


def _items(src: Source, size: int) -> tuple[list, list[str]]:
    """``(items, digest after each chunk)``, RawLines parsed as a worker would."""
    items, digests = [], []
    for chunk in src.chunks(size):
        for it in chunk:
            items += src.fields.parse_lines(it) if type(it) is RawLines else [it]
        digests.append(src.digest())
    return items, digests


@pytest.mark.parametrize("seed", range(40))
def test_block_reading_matches_line_reading(tmp_path, monkeypatch, seed):
    rng = random.Random(seed)
    monkeypatch.setattr(score_io, "MAX_RECORD_BYTES", 300)  # some lines are over it
    monkeypatch.setattr(score_io, "_BLOCK", rng.choice([7, 64, 301, 1 << 20]))  # lines cross blocks
    data = b"".join(_line(rng, i) for i in range(rng.randint(1, 120)))
    if seed % 3 == 0:
        data = data.rstrip(b"\r\n")  # the last line without its line break
    if seed % 5 == 0:
        data = b"\xef\xbb\xbf" + data
    path = tmp_path / ("in.jsonl.gz" if seed % 4 == 1 else "in.jsonl")
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    size = rng.choice([1, 2, 3, 7, 50, 2048])
    if seed % 2:  # the pure Python parser (no C extension, or TOPICCLF_NO_EXT=1)
        monkeypatch.setattr(score_io, "_jsonrec", None)
    plain = Source(path)
    expected, expected_digests = _items(plain, size)
    fast = Source(path)
    fast.defer = True
    got, digests = _items(fast, size)
    assert got == expected
    assert digests == expected_digests  # resuming compares these
    assert any(type(it) is Reject for it in expected) or seed % 7  # the inputs do hold rejects


def test_deferred_runs_never_span_chunks(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"".join(b'{"id": %d, "text": "t"}\n' % i + (b"\n" if i % 3 else b"") for i in range(100)))
    src = Source(path)
    src.defer = True
    counts = [sum(it.records if type(it) is RawLines else 1 for it in chunk) for chunk in src.chunks(16)]
    assert counts == [16] * 6 + [4]
    assert any(type(it) is RawLines for chunk in Source.chunks(src, 16) for it in chunk)


def test_scored_output_is_the_same_in_blocks(tmp_path, monkeypatch, tiny_model):
    """End to end: the output with the block reader equals the one of the line reader."""
    rng = random.Random(5)
    monkeypatch.setattr(score_io, "MAX_RECORD_BYTES", 300)
    data = b"".join(_line(rng, i) for i in range(300))
    path = tmp_path / "in.jsonl"
    path.write_bytes(data)
    outs = []
    for defer in (True, False):
        if not defer:  # the line by line reader, as before #12
            monkeypatch.setattr(Source, "chunks", lambda self, size: _plain_chunks(self, size))
        out = tmp_path / f"out{defer}.jsonl"
        s = score_file(path, out, model=tiny_model, batch_size=37, progress=False)
        outs.append((out.read_bytes(), (tmp_path / f"out{defer}.jsonl.rejects.jsonl").read_bytes(),
                     s["records_in"], s["rejected"]))
    assert outs[0] == outs[1]
    assert outs[0][3] > 0


def _plain_chunks(src: Source, size: int):
    src.defer = False
    chunk = []
    for it in iter(src):
        chunk.append(it)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# ---------------------------------------------------------------------------------------------
# gzip through ISA-L


def _read_all(reader, size=1 << 16) -> tuple[bytes, BaseException | None]:
    out = []
    try:
        while data := reader(size):
            out.append(data)
    except Exception as e:  # noqa: BLE001
        return b"".join(out), e
    return b"".join(out), None


def test_isal_gzip_reads_what_gzip_reads():
    isal_zlib = pytest.importorskip("isal.isal_zlib", reason="isal is not installed")
    data = b"".join(b'{"id": %d, "text": "%s"}\n' % (i, b"abc " * (i % 40)) for i in range(3000))
    whole = gzip.compress(data)
    cases = {"whole": whole, "members": gzip.compress(data[:777]) + gzip.compress(data[777:]),
             "zero padding": whole + b"\0" * 64, "empty": b""}
    for name, packed in cases.items():
        got, err = _read_all(score_io._GzipMembers(io.BytesIO(packed), isal_zlib).read)
        assert err is None and got == data * (name != "empty"), name
    got, err = _read_all(score_io._GzipMembers(io.BytesIO(whole[: len(whole) // 2]), isal_zlib).read)
    ref = gzip.GzipFile(fileobj=io.BytesIO(whole[: len(whole) // 2]))
    expected, ref_err = _read_all(ref.read1)
    assert isinstance(err, EOFError) and isinstance(ref_err, EOFError)
    assert expected.startswith(got) and len(expected) - len(got) < 64  # nothing read is lost
    _, err = _read_all(score_io._GzipMembers(io.BytesIO(whole + b"garbage"), isal_zlib).read)
    assert isinstance(err, gzip.BadGzipFile)


# ---------------------------------------------------------------------------------------------
# What json.loads raises besides JSONDecodeError


def test_number_over_the_digit_limit_is_a_reject(tmp_path, tiny_model):
    path = tmp_path / "in.jsonl"
    path.write_text('{"id": %s, "text": "Hà Nội mưa to"}\n{"id": 2, "text": "Giá vàng tăng mạnh hôm nay"}\n'
                    % ("1" * 5000), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    s = score_file(path, out, model=tiny_model, progress=False)
    assert s["records_in"] == 2 and s["scored"] == 1 and s["rejected"] == 1
    (rej,) = [json.loads(l) for l in (tmp_path / "out.jsonl.rejects.jsonl").read_text().splitlines()]
    assert rej["position"] == 1 and "digits" in rej["reason"]


# ---------------------------------------------------------------------------------------------
# The C reader of JSONL fields (topicclf._jsonrec): json.loads is the referee

_NASTY = [b'"', b"\\", b"{", b"}", b"[", b"]", b",", b":", b"\x00", b"\x1f", b"\x7f", b"\xff", b"\xc3", b"\xe1\xbb",
          b"\xed\xa0\x80", b"\xf0\x9f\x98\x80", b"u", b"d", b"8", b"0", b"-", b"e", b".", b" ", b"\t", b"\r", b"n",
          b"t", b"\\u", b"\\ud83d\\ude00", b"\\ud800", b"\\u00e9", b"NaN", b"1e999", b"9" * 30]


def _valid_line(rng: random.Random) -> bytes:
    row: dict = {}
    for key in rng.sample(["id", "text", "title", "url", "meta", "tags", "x"], rng.randint(0, 7)):
        row[key] = rng.choice([
            "Hà Nội mưa to\nngày mai", "Giá \"vàng\" tăng\\giảm", "emoji 😀 and é", "", "tab\there",
            rng.randint(-10**20, 10**20), 1.5, -0.0, True, False, None, [1, "a", {"b": [None]}], {"k": "v"},
        ])
    text = json.dumps(row, ensure_ascii=rng.random() < 0.3, indent=rng.choice([None, None, 1]))
    text = text.replace("\n", " ") if rng.random() < 0.9 else text
    if rng.random() < 0.2:  # a repeated key: the last one wins
        text = text[:-1] + (", " if row else "") + '"text": "again"}'
    return text.encode("utf-8")


@pytest.mark.parametrize("seed", range(20))
def test_c_fields_agree_with_json_loads(seed):
    jsonrec = pytest.importorskip("topicclf._jsonrec", reason="the C extension is not built")
    rng = random.Random(seed)
    names = ("text", "id", "title")
    handled = 0
    for _ in range(400):
        line = bytearray(_valid_line(rng))
        for _ in range(rng.choice([0, 0, 1, 2, 4])):  # mutations: most lines stay valid
            i = rng.randrange(len(line) + 1)
            op = rng.random()
            if op < 0.4:
                line[i:i] = rng.choice(_NASTY)
            elif op < 0.7 and line:
                del line[i : i + rng.randint(1, 3)]
            else:
                line[i : i + 1] = rng.choice(_NASTY)
        line = bytes(line)
        got = jsonrec.fields(line, names)
        try:
            ref = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            assert got is None, line  # invalid: left to json.loads, which gives the reason
            continue
        if got is None:
            continue  # unusual but valid (a float id, a surrogate escape...): json.loads reads it
        handled += 1
        assert isinstance(ref, dict), line
        expected = {k: ref[k] for k in names if k in ref}
        assert got == expected and [type(v) for v in got.values()] == [type(v) for v in expected.values()], line
    assert handled > 50  # the fast path does the common lines


def test_parse_line_is_the_same_with_and_without_the_c_reader(monkeypatch):
    pytest.importorskip("topicclf._jsonrec", reason="the C extension is not built")
    rng = random.Random(7)
    fields = score_io._Fields("text", "id", "title")
    lines = [_valid_line(rng) for _ in range(300)] + [m.encode() if isinstance(m, str) else m for m in (
        '{"id": 12345678901234567890123, "text": "big id"}', '{"text": "\\ud800 lone"}', '{"text": "a"} extra',
        '{"id": 1.0, "text": "float id"}', '{"text": null}', '{"title": "T", "text": ""}', '{"text": "x", "text": 5}')]
    with_c = [fields.parse_line(i, i + 1, l) for i, l in enumerate(lines)]
    monkeypatch.setattr(score_io, "_jsonrec", None)
    without = [fields.parse_line(i, i + 1, l) for i, l in enumerate(lines)]
    assert with_c == without


def test_gzip_without_isal_reads_the_same(tmp_path, monkeypatch):
    """Where isal is not installed, the standard library's gzip reads the same records."""
    data = b"".join(b'{"id": %d, "text": "Gi\xc3\xa1 v\xc3\xa0ng t\xc4\x83ng %d"}\n' % (i, i) for i in range(500))
    path = tmp_path / "in.jsonl.gz"
    path.write_bytes(gzip.compress(data))
    with_isal = [it for chunk in Source(path).chunks(64) for it in chunk]
    monkeypatch.setitem(__import__("sys").modules, "isal", None)  # import isal now fails
    without = [it for chunk in Source(path).chunks(64) for it in chunk]
    assert with_isal == without and len(without) == 500
