"""Damaged input for batch scoring (issue #15): every record ends as a scored row, a flagged row
or a reject with its reason and position; damage that hides records fails the run, naming the
file and the position; errors the user can fix print a message, never a traceback."""

from __future__ import annotations

import errno
import gzip
import json
import os
import random
import shutil
from pathlib import Path

import pytest

import topicclf
from topicclf import cli
from topicclf.data import DataError
from topicclf.score import OutputError, ResumeError, score_file

SPORT = [
    "Đội tuyển bóng đá Việt Nam thắng hai bàn trong trận chung kết tối qua",
    "Cầu thủ trẻ ghi bàn thắng quyết định ở phút cuối trận đấu",
    "Huấn luyện viên công bố danh sách cầu thủ dự giải vô địch",
    "Vận động viên điền kinh giành huy chương vàng tại đại hội thể thao",
    "The national football team won the final with two late goals",
    "The young striker scored the winning goal in the last minute of the match",
]
BUSINESS = [
    "Giá vàng trong nước tăng mạnh theo đà tăng của thị trường thế giới",
    "Ngân hàng nhà nước điều chỉnh lãi suất điều hành từ tháng sau",
    "Doanh nghiệp xuất khẩu gạo báo lãi lớn trong quý ba",
    "Thị trường chứng khoán giảm điểm phiên thứ ba liên tiếp",
    "Gold prices rose sharply as investors sought safety in the markets",
    "The central bank raised interest rates to curb inflation",
]


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    clf = topicclf.train((SPORT + BUSINESS) * 2, (["sport"] * 6 + ["business"] * 6) * 2, min_df=1, cv=2,
                         name="damage-test", languages=["vi", "en"])
    path = tmp_path_factory.mktemp("models") / "damage-test"
    clf.save(path)
    return path


def texts(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [". ".join(rng.sample(rng.choice([SPORT, BUSINESS]), 3)) for _ in range(n)]


def jsonl_bytes(n: int, seed: int = 0) -> bytes:
    return "".join(json.dumps({"id": f"r{i}", "text": t}, ensure_ascii=False) + "\n"
                   for i, t in enumerate(texts(n, seed))).encode()


def rows(out: Path) -> list[dict]:
    return [json.loads(l) for l in out.read_text(encoding="utf-8").splitlines()]


def rejects(out: Path) -> list[dict]:
    return [json.loads(l) for l in Path(f"{out}.rejects.jsonl").read_text(encoding="utf-8").splitlines()]


def run_cli(capsys, *argv) -> tuple[int, str]:
    """``topicclf ARGV`` in this process: (exit status, stderr). An exception escaping main()
    (a traceback for the user) fails the test."""
    rc = cli.main(list(map(str, argv)) + ["--quiet"] if argv and argv[0] == "score" else list(map(str, argv)))
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return rc, err


# ---------------------------------------------------------------------------------------------
# 1. CSV: an unterminated quote


def test_csv_unterminated_quote_rejects_its_row_and_reads_the_next_ones(tmp_path, model, capsys):
    good = texts(4, seed=1)
    src = tmp_path / "in.csv"
    src.write_text("id,text\n"
                   f"a,{good[0]}\n"
                   f'b,"{good[1]} and a quote that is never closed\n'
                   f"c,{good[2]}\n"
                   f"d,{good[3]}\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    rc, err = run_cli(capsys, "score", src, "--model", model, "--out", out)
    assert [r["id"] for r in rows(out)] == ["a", "c", "d"]
    clf = topicclf.load(model)
    assert [r["labels"] for r in rows(out)] == clf.predict([good[0], good[2], good[3]])
    (rej,) = rejects(out)
    assert rej["position"] == 3 and rej["damage"] and "unterminated quote" in rej["reason"]
    summary = json.loads(Path(f"{out}.summary.json").read_text())
    assert summary["records_in"] == 4 and summary["rejected"] == 1 and summary["damaged"] == 1
    assert rc != 0 and str(src) in err and "at position 3" in err


def test_csv_quote_closed_rows_later_does_not_merge_rows(tmp_path, model):
    # the open quote of b would end at c's quoted field, making b and c one record
    src = tmp_path / "in.csv"
    src.write_text('id,text\na,Giá vàng tăng mạnh\nb,"Giá vàng tăng\nc,"Cầu thủ ghi bàn, phút cuối"\n'
                   "d,Ngân hàng điều chỉnh lãi suất\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    s = score_file(src, out, model=model, progress=False)
    assert [r["id"] for r in rows(out)] == ["a", "c", "d"]
    assert [(r["position"], r["damage"]) for r in rejects(out)] == [(3, True)]
    assert s["records_in"] == 4 and s["damaged"] == 1


def test_csv_quoting_mistake_within_one_line_is_read_as_before(tmp_path, model):
    src = tmp_path / "in.csv"
    src.write_text('id,text\na,"Giá vàng "tăng" mạnh"\nb,Ngân hàng "điều chỉnh" lãi suất\n', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    s = score_file(src, out, model=model, progress=False)
    assert [r["id"] for r in rows(out)] == ["a", "b"] and s["rejected"] == 0 and s["damaged"] == 0


# ---------------------------------------------------------------------------------------------
# 2. Cut and corrupt compressed streams


def complete_lines(data: bytes) -> int:
    return data.count(b"\n")


@pytest.mark.parametrize("comp", ["zst", "gz"])
def test_cut_compressed_stream_scores_what_is_there_and_fails(tmp_path, model, capsys, comp):
    data = jsonl_bytes(3000, seed=2)  # several zstd blocks
    if comp == "zst":
        import zstandard

        packed = zstandard.ZstdCompressor(level=3).compress(data)
        cut = packed[: len(packed) // 2]
        readable = zstandard.ZstdDecompressor().decompressobj().decompress(cut)
    else:
        packed = gzip.compress(data)
        cut = packed[: len(packed) // 2]
        import zlib

        readable = zlib.decompressobj(31).decompress(cut)
    src = tmp_path / f"in.jsonl.{comp}"
    src.write_bytes(cut)
    n = complete_lines(readable)
    assert 0 < n < 3000
    out = tmp_path / "out.jsonl"
    rc, err = run_cli(capsys, "score", src, "--model", model, "--out", out)
    assert [r["id"] for r in rows(out)] == [f"r{i}" for i in range(n)]
    (rej,) = rejects(out)
    assert rej["damage"] and rej["position"] == n + 1 and "cut" in rej["reason"]
    assert f"line {n + 1} is incomplete" in rej["reason"] and "invalid JSON" not in rej["reason"]
    assert rc != 0 and str(src) in err and "cut" in err


def test_fake_gzip_is_reported_not_a_traceback(tmp_path, model, capsys):
    src = tmp_path / "in.jsonl.gz"
    src.write_bytes(jsonl_bytes(5))  # not compressed at all
    out = tmp_path / "out.jsonl"
    rc, err = run_cli(capsys, "score", src, "--model", model, "--out", out)
    assert rc != 0 and "gzip" in err
    (rej,) = rejects(out)
    assert rej["damage"] and rej["position"] == 1


def test_corrupt_zstd_data_is_reported(tmp_path, model):
    import zstandard

    packed = bytearray(zstandard.ZstdCompressor(level=3).compress(jsonl_bytes(300, seed=3)))
    for i in range(len(packed) // 2, len(packed) // 2 + 64):
        packed[i] ^= 0x5A
    src = tmp_path / "in.jsonl.zst"
    src.write_bytes(bytes(packed))
    out = tmp_path / "out.jsonl"
    s = score_file(src, out, model=model, progress=False)
    assert s["damaged"] >= 1 and any(r.get("damage") for r in rejects(out))


def test_multi_frame_zstd_and_gzip_members_are_whole(tmp_path, model):
    import zstandard

    a, b = jsonl_bytes(30, seed=4), jsonl_bytes(20, seed=5)
    src = tmp_path / "in.jsonl.zst"
    skippable = b"\x50\x2a\x4d\x18" + (3).to_bytes(4, "little") + b"xyz"
    src.write_bytes(zstandard.ZstdCompressor(write_checksum=True).compress(a) + skippable
                    + zstandard.ZstdCompressor(write_content_size=False).compress(b))
    s = score_file(src, tmp_path / "out.jsonl", model=model, progress=False)
    assert s["records_in"] == s["scored"] == 50 and s["damaged"] == 0
    src = tmp_path / "in.jsonl.gz"
    src.write_bytes(gzip.compress(a) + gzip.compress(b))
    s = score_file(src, tmp_path / "out2.jsonl", model=model, progress=False)
    assert s["records_in"] == s["scored"] == 50 and s["damaged"] == 0


def test_plain_jsonl_cut_mid_line_is_damage(tmp_path, model):
    data = jsonl_bytes(10, seed=6)
    src = tmp_path / "in.jsonl"
    src.write_bytes(data[: len(data) - 25])  # the last line is cut
    out = tmp_path / "out.jsonl"
    s = score_file(src, out, model=model, progress=False)
    assert s["scored"] == 9 and s["damaged"] == 1
    (rej,) = rejects(out)
    assert rej["position"] == 10 and "may be cut" in rej["reason"]
    # a last line without its line break is fine when it is whole
    src.write_bytes(data[:-1])
    assert score_file(src, tmp_path / "o2.jsonl", model=model, progress=False)["scored"] == 10


def test_overlong_line_is_rejected_without_reading_it_whole(tmp_path, model, monkeypatch):
    import topicclf.score_io as sio

    monkeypatch.setattr(sio, "MAX_RECORD_BYTES", 1000)
    lines = [json.dumps({"id": "a", "text": SPORT[0]}), json.dumps({"id": "big", "text": "x" * 5000}),
             json.dumps({"id": "c", "text": SPORT[1]})]
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    s = score_file(src, out, model=model, progress=False)
    assert [r["id"] for r in rows(out)] == ["a", "c"] and s["damaged"] == 0
    assert [(r["position"], r["reason"][:18]) for r in rejects(out)] == [(2, "line longer than 1")]


# ---------------------------------------------------------------------------------------------
# 3. Folders and Parquet: one bad file does not stop the run


def test_bad_entries_in_a_folder_are_rejects_and_links_are_followed(tmp_path, model):
    root = tmp_path / "docs"
    (root / "real").mkdir(parents=True)
    t = texts(3, seed=7)
    (root / "a.txt").write_text(t[0], encoding="utf-8")
    (root / "broken.txt").symlink_to(root / "missing.txt")
    (root / "loop.txt").symlink_to(root / "loop.txt")
    os.mkfifo(root / "pipe.txt")
    (root / "real" / "b.txt").write_text(t[1], encoding="utf-8")
    (root / "linked").symlink_to(root / "real")  # a linked folder is read like a real one
    (root / "real" / "up").symlink_to(root)  # a loop back to the top: not followed again
    (root / "z.html").write_text(t[2], encoding="utf-8")
    out = tmp_path / "out.jsonl"
    s = score_file(root, out, model=model, progress=False)
    assert [r["id"] for r in rows(out)] == ["a.txt", "z.html", "linked/b.txt", "real/b.txt"]
    got = {r["position"]: r["reason"] for r in rejects(out)}
    assert set(got) == {"broken.txt", "loop.txt", "pipe.txt", "linked/up/", "real/up/"}
    assert "broken symbolic link" in got["broken.txt"] and "loop" in got["loop.txt"]
    assert "FIFO" in got["pipe.txt"] and "loop" in got["real/up/"]
    assert s["damaged"] == 0 and s["records_in"] == 9


def test_a_folder_that_cannot_be_listed_is_damage(tmp_path, model, monkeypatch):
    root = tmp_path / "docs"
    (root / "locked").mkdir(parents=True)
    (root / "a.txt").write_text(SPORT[0], encoding="utf-8")
    (root / "locked" / "b.txt").write_text(SPORT[1], encoding="utf-8")
    real = os.scandir

    def scandir(path="."):  # what a folder without read permission does (tests may run as root)
        if str(path).endswith("locked"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    out = tmp_path / "out.jsonl"
    s = score_file(root, out, model=model, progress=False)
    assert [r["id"] for r in rows(out)] == ["a.txt"]
    (rej,) = rejects(out)
    assert rej["position"] == "locked/" and rej["damage"] and "Permission denied" in rej["reason"]
    assert s["damaged"] == 1


def write_parquet(path: Path, n: int, group: int):
    import pyarrow as pa
    import pyarrow.parquet as pq

    tx = texts(n, seed=8)
    pq.write_table(pa.table({"id": [f"p{i}" for i in range(n)], "text": tx}), path, row_group_size=group,
                   compression="snappy", use_dictionary=False)
    return tx


def corrupt_row_group(path: Path, g: int, column: str = "text") -> None:
    import pyarrow.parquet as pq

    md = pq.ParquetFile(path).metadata.row_group(g)
    c = next(md.column(j) for j in range(md.num_columns) if md.column(j).path_in_schema == column)
    data = bytearray(path.read_bytes())
    mid = c.data_page_offset + c.total_compressed_size // 2
    data[mid : mid + 40] = b"\xff" * 40
    path.write_bytes(bytes(data))


def test_corrupt_parquet_page_rejects_its_rows_and_reads_the_rest(tmp_path, model, capsys):
    src = tmp_path / "in.parquet"
    tx = write_parquet(src, 30, 10)
    corrupt_row_group(src, 1)
    out = tmp_path / "out.jsonl"
    rc, err = run_cli(capsys, "score", src, "--model", model, "--out", out)
    ids = [r["id"] for r in rows(out)]
    assert ids[:10] == [f"p{i}" for i in range(10)] and ids[-10:] == [f"p{i}" for i in range(20, 30)]
    rej = rejects(out)
    assert len(ids) + len(rej) == 30 and rej and all(r["damage"] for r in rej)
    assert all(11 <= r["position"] <= 20 and "row group 1" in r["reason"] for r in rej)
    assert rc != 0 and "row group 1" in err
    assert not Path(f"{out}.parts").exists()  # the run finished: nothing left that --resume could not pass


def test_unreadable_parquet_file_is_a_clear_error(tmp_path, model, capsys):
    src = tmp_path / "in.parquet"
    src.write_bytes(b"PAR1 this is not parquet")
    rc, err = run_cli(capsys, "score", src, "--model", model, "--out", tmp_path / "o.jsonl")
    assert rc != 0 and "cannot be read as Parquet" in err and str(src) in err


# ---------------------------------------------------------------------------------------------
# 5. Resume checks the input's content


def test_resume_refuses_an_input_changed_with_the_same_size_and_mtime(tmp_path, model, monkeypatch):
    import topicclf.score as score_mod

    src = tmp_path / "in.jsonl"
    src.write_bytes(jsonl_bytes(120, seed=9))
    st = src.stat()
    out = tmp_path / "out.jsonl"
    real_write = score_mod._Parts.write

    def crash_after_3(self, k, header, lines):
        if k == 3:
            raise KeyboardInterrupt
        real_write(self, k, header, lines)

    monkeypatch.setattr(score_mod._Parts, "write", crash_after_3)
    with pytest.raises(KeyboardInterrupt):
        score_file(src, out, model=model, batch_size=20, progress=False)
    monkeypatch.setattr(score_mod._Parts, "write", real_write)
    lines = src.read_bytes().splitlines(keepends=True)
    random.Random(1).shuffle(lines)  # a shuffled copy: same size, same mtime
    src.write_bytes(b"".join(lines))
    os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns))
    with pytest.raises(ResumeError, match="not the one"):
        score_file(src, out, model=model, resume=True, progress=False)
    assert Path(f"{out}.parts").is_dir()  # kept: the user decides


# ---------------------------------------------------------------------------------------------
# 7. Ids and titles


def test_big_integer_ids_stay_exact(tmp_path, model):
    ids = [2**64, -(2**63) - 1, 10**30, 2**63 - 1, 7]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in zip(ids, texts(5))), encoding="utf-8")
    for name in ("out.jsonl", "out.csv", "out.parquet"):
        out = tmp_path / name
        score_file(src, out, model=model, progress=False, workers=1)
        if name == "out.jsonl":
            assert [r["id"] for r in rows(out)] == ids
        elif name == "out.csv":
            import csv

            with open(out, encoding="utf-8", newline="") as f:
                assert [r["id"] for r in csv.DictReader(f)] == [str(i) for i in ids]
        else:
            import pyarrow.parquet as pq

            assert pq.read_table(out).column("id").to_pylist() == [str(i) for i in ids]


@pytest.mark.parametrize("body", ["&nbsp;", "\u200b\u200b", "Chia sẻ\nBình luận\nAudio", "<p>&nbsp;</p>", " \u00a0 "])
def test_title_over_a_body_with_no_text_is_not_labelled_from_the_headline(tmp_path, model, body):
    src = tmp_path / "in.jsonl"
    rows_in = [{"id": "x", "title": SPORT[0], "text": body}, {"id": "y", "title": SPORT[1], "text": SPORT[2]}]
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows_in), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    score_file(src, out, model=model, title_field="title", progress=False)
    x, y = rows(out)
    assert x["labels"] == [] and x["flags"] in (["empty"], ["boilerplate_only"])
    assert set(x["scores"].values()) == {0}
    assert y["labels"] == ["sport"]
    # the same in the Ray Data scorer (called on a plain batch: no Ray needed)
    from topicclf.integrations.ray import TopicScorer

    got = TopicScorer(model=str(model), title_field="title")(
        {"id": ["x", "y", "z"], "title": [SPORT[0], SPORT[1], SPORT[3]], "text": [body, SPORT[2], ""]}).to_pylist()
    assert [(r["labels"], r["flags"]) for r in got] == [([], x["flags"]), (["sport"], []), ([], ["empty"])]


# ---------------------------------------------------------------------------------------------
# 9. Messages for problems the user can fix


def test_output_path_that_is_a_folder_fails_before_scoring(tmp_path, model, capsys, monkeypatch):
    import topicclf.score as score_mod

    src = tmp_path / "in.jsonl"
    src.write_bytes(jsonl_bytes(5))
    (tmp_path / "out.jsonl").mkdir()
    monkeypatch.setattr(score_mod, "_run", lambda *a, **k: pytest.fail("scored before checking the output"))
    rc, err = run_cli(capsys, "score", src, "--model", model, "--out", tmp_path / "out.jsonl")
    assert rc != 0 and "is a folder" in err


def test_read_only_output_folder_is_a_message(tmp_path, model, capsys, monkeypatch):
    import topicclf.score as score_mod

    src = tmp_path / "in.jsonl"
    src.write_bytes(jsonl_bytes(5))

    def denied(self, state, resume):  # what mkdir in a read-only folder raises (tests may run as root)
        raise PermissionError(errno.EACCES, "Permission denied", str(self.folder))

    monkeypatch.setattr(score_mod._Parts, "start", denied)
    rc, err = run_cli(capsys, "score", src, "--model", model, "--out", tmp_path / "ro" / "out.jsonl")
    assert rc != 0 and "Permission denied" in err and "out.jsonl.parts" in err


def test_disk_full_keeps_the_checkpoints_for_resume(tmp_path, model, capsys, monkeypatch):
    import topicclf.score as score_mod

    src = tmp_path / "in.jsonl"
    src.write_bytes(jsonl_bytes(60, seed=10))
    clean = tmp_path / "clean.jsonl"
    score_file(src, clean, model=model, batch_size=20, progress=False)
    real_write = score_mod._Parts.write

    def full(self, k, header, lines):
        if k == 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(self, k, header, lines)

    monkeypatch.setattr(score_mod._Parts, "write", full)
    out = tmp_path / "out.jsonl"
    rc, err = run_cli(capsys, "score", src, "--model", model, "--out", out, "--batch-size", 20)
    assert rc != 0 and "No space left on device" in err and "--resume" in err
    monkeypatch.setattr(score_mod._Parts, "write", real_write)
    score_file(src, out, model=model, resume=True, progress=False)
    assert out.read_bytes() == clean.read_bytes()


def test_workers_must_be_positive(tmp_path, model, capsys):
    src = tmp_path / "in.jsonl"
    src.write_bytes(jsonl_bytes(5))
    with pytest.raises(ValueError, match="workers"):
        score_file(src, tmp_path / "o.jsonl", model=model, workers=0, progress=False)
    rc, err = run_cli(capsys, "score", src, "--model", model, "--out", tmp_path / "o.jsonl", "--workers", 0)
    assert rc != 0 and "workers" in err


def test_corrupt_model_with_workers_says_so(tmp_path, model):
    bad = tmp_path / "bad-model"
    shutil.copytree(model, bad)
    w = bad / "weights.safetensors"
    w.write_bytes(w.read_bytes()[:-100] + b"\0" * 100)
    src = tmp_path / "in.jsonl"
    src.write_bytes(jsonl_bytes(5))
    with pytest.raises(Exception) as e:
        score_file(src, tmp_path / "o.jsonl", model=bad, workers=2, progress=False)
    assert "--resume" not in str(e.value) and "bad-model" in str(e.value)
    assert not Path(tmp_path / "o.jsonl.parts").exists()


def test_two_runs_on_one_output_are_refused(tmp_path, model):
    import fcntl

    src = tmp_path / "in.jsonl"
    src.write_bytes(jsonl_bytes(5))
    out = tmp_path / "o.jsonl"
    with open(f"{out}.lock", "w") as held:  # what a running `topicclf score --out o.jsonl` holds
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(OutputError, match="another topicclf score run"):
            score_file(src, out, model=model, progress=False)
    score_file(src, out, model=model, progress=False)
    assert not Path(f"{out}.lock").exists()


# ---------------------------------------------------------------------------------------------
# 4. A long HTML page keeps its article


def test_long_html_page_is_cut_after_cleaning_not_before(model):
    clf = topicclf.load(model)
    article = ". ".join(SPORT[:4])
    small = f"<html><head><title>x</title></head><body><p>{article}</p></body></html>"
    script = "var config = {analytics: true, tracking: 'on', items: [1, 2, 3]}; function f(a) { return a; }\n"
    head = "<script>" + script * (110_000 // len(script)) + "</script><style>body { margin: 0 }</style>"
    page = f"<html><head>{head}</head><body><p>{article}</p></body></html>"
    assert len(page) > clf.max_chars
    big, ref = clf.classify([page, small])
    assert big.labels == ref.labels == ["sport"] and big.lang == ref.lang == "vi"
    assert big.flags == [] and big.scores == pytest.approx(ref.scores, abs=1e-6)
    # a text whose clean form is long is still cut, and says so
    long = clf.classify([(article + "\n") * 10 + " ".join(f"từ{i}" for i in range(30_000))])[0]
    assert long.flags == ["truncated"]


def test_normalize_prefix_bounds_the_work():
    from topicclf.text import normalize_prefix

    clean, cut = normalize_prefix("<p>" + "Hà Nội " * 1_000_000, 1000)
    assert cut and len(clean) <= 1000 and clean.startswith("Hà Nội Hà Nội")


# ---------------------------------------------------------------------------------------------
# 6. A shipped model's name means the shipped model


def test_a_local_folder_does_not_shadow_a_shipped_model(tmp_path, model, monkeypatch, capsys):
    from topicclf.classifiers.registry import model_path
    from topicclf.score import _model_info
    from topicclf.serialization import ModelFileError

    if "policy5" not in topicclf.available_models():
        pytest.skip("the shipped models are not installed")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "policy5").mkdir()
    (tmp_path / "policy5" / "train.jsonl").write_text('{"text": "x", "labels": []}\n', encoding="utf-8")
    assert topicclf.load("policy5").labels == topicclf.load(model_path("policy5")).labels
    assert model_path("policy5") != Path("policy5") and _model_info("policy5").spec == str(model_path("policy5").resolve())
    with pytest.raises((ModelFileError, FileNotFoundError)):
        topicclf.load("./policy5")  # a path: the local folder, which holds no model
    (tmp_path / "x.txt").write_text("Quốc hội thảo luận về chủ quyền biển đảo và quan hệ ngoại giao", encoding="utf-8")
    assert cli.main(["classify", "x.txt"]) == 0
    assert "labels:" in capsys.readouterr().out
    # a real model of another kind in ./policy5 is used only when given as a path
    shutil.rmtree(tmp_path / "policy5")
    shutil.copytree(model, tmp_path / "policy5")
    assert topicclf.load("policy5").labels != ["business", "sport"]
    assert topicclf.load("./policy5").labels == ["business", "sport"]
    assert topicclf.load(Path("policy5")).labels == ["business", "sport"]


# ---------------------------------------------------------------------------------------------
# 7. Labels written as comma strings; inputs whose iteration is not their texts


def test_comma_separated_labels_train_a_multilabel_model(tmp_path):
    from topicclf.data import load_records

    labels = ["sport,business"] * 2 + ["sport"] * 5 + ["business"] * 5 + ["", "sport, business"]
    texts = (SPORT + BUSINESS + SPORT[:2])[: len(labels)]
    clf = topicclf.train(texts, labels, min_df=1, cv=2)
    assert clf.multilabel and clf.labels == ["business", "sport"]
    csv_path = tmp_path / "train.csv"
    import csv

    with open(csv_path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "text", "labels"])
        w.writerows([(i, t, l) for i, (t, l) in enumerate(zip(texts, labels))])
    recs = load_records(csv_path)
    assert recs.multilabel and recs.labels[0] == ["sport", "business"] and recs.labels[12] == []
    # a declared label with a comma stays one label
    recs2 = topicclf.data.validate(["a b c", "d e f"], ["x,y", "z"], ["1", "2"], labels=["x,y", "z"])
    assert not recs2.multilabel and recs2.labels == ["x,y", "z"]
    result = topicclf.evaluate(clf, texts, labels)
    assert 0 <= result["macro_f1"] <= 1


def test_dataframes_and_dicts_are_refused_not_read_as_their_keys(model):
    import pandas as pd

    clf = topicclf.load(model)
    df = pd.DataFrame({"id": [1, 2], "text": [SPORT[0], BUSINESS[0]]})
    for call in (clf.predict, clf.predict_proba, clf.classify):
        with pytest.raises(TypeError, match="column"):
            call(df)
    with pytest.raises(TypeError, match="keys"):
        clf.predict({"a": SPORT[0]})
    with pytest.raises(TypeError, match="column"):
        clf.pipeline[0].transform(df)
    assert clf.predict(df["text"]) == [["sport"], ["business"]]


# ---------------------------------------------------------------------------------------------
# 8. NUL, U+FFFD and emoji stuck to words split them, as topicclf.tokenize does


def test_nul_replacement_character_and_emoji_do_not_change_the_words():
    if "policy5" not in topicclf.available_models():
        pytest.skip("the shipped models are not installed")
    clf = topicclf.load("policy5")
    text = ("The United Nations Human rights council condemned the arrest of activists and called for the "
            "release of political prisoners, freedom of expression and respect for Human rights defenders")
    assert topicclf.normalize("Human\x00rights") == "Human rights"
    variants = [text.replace("Human rights", v) for v in
                ("Human\x00rights", "Human\ufffdrights", "🔥Human rights", "Human rights🔥", "Human\u2122 rights")]
    P = clf.predict_proba([text, *variants])
    for row in P[1:]:
        assert row == pytest.approx(P[0], abs=1e-6)
