"""Batch scoring (topicclf.score, ``topicclf score``): formats, rejects, resume, workers, Ray."""

from __future__ import annotations

import csv
import gzip
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import topicclf
from topicclf.data import DataError
from topicclf.score import ResumeError, score_file

REPO = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO / "src"))

# Our own sentences, three topics in Vietnamese and English.
SENTENCES = {
    "sport": [
        "Đội tuyển bóng đá Việt Nam thắng hai bàn trong trận chung kết tối qua",
        "Cầu thủ trẻ ghi bàn thắng quyết định ở phút cuối trận đấu",
        "Huấn luyện viên công bố danh sách cầu thủ dự giải vô địch",
        "Vận động viên điền kinh giành huy chương vàng tại đại hội thể thao",
        "Câu lạc bộ bóng đá chiêu mộ tiền đạo mới cho mùa giải",
        "Tay vợt trẻ thắng trận quần vợt kéo dài ba giờ",
        "The national football team won the final with two late goals",
        "The young striker scored the winning goal in the last minute of the match",
        "The coach named the squad for the championship tournament",
        "The sprinter won a gold medal at the athletics games",
    ],
    "business": [
        "Giá vàng trong nước tăng mạnh theo đà tăng của thị trường thế giới",
        "Ngân hàng nhà nước điều chỉnh lãi suất điều hành từ tháng sau",
        "Doanh nghiệp xuất khẩu gạo báo lãi lớn trong quý ba",
        "Thị trường chứng khoán giảm điểm phiên thứ ba liên tiếp",
        "Công ty công nghệ huy động vốn đầu tư để mở rộng sản xuất",
        "Giá xăng dầu giảm nhẹ sau kỳ điều chỉnh của bộ tài chính",
        "Gold prices rose sharply as investors sought safety in the markets",
        "The central bank raised interest rates to curb inflation",
        "The rice exporter reported a large profit in the third quarter",
        "Stock markets fell for the third session in a row",
    ],
    "health": [
        "Bệnh viện tiếp nhận nhiều bệnh nhân sốt xuất huyết trong tuần qua",
        "Bác sĩ khuyến cáo người dân tiêm vắc xin phòng cúm mùa",
        "Bộ Y tế ban hành hướng dẫn điều trị bệnh tay chân miệng",
        "Các nhà khoa học thử nghiệm thuốc mới chữa bệnh tiểu đường",
        "Trạm y tế xã khám sức khỏe miễn phí cho người cao tuổi",
        "The hospital admitted many dengue fever patients this week",
        "Doctors advised people to get the seasonal flu vaccine",
        "The health ministry issued new guidance on treating the disease",
        "Scientists are testing a new drug for diabetes patients",
        "The clinic offered free health checks to elderly residents",
    ],
}


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    texts = [s for v in SENTENCES.values() for s in v]
    labels = [k for k, v in SENTENCES.items() for _ in v]
    clf = topicclf.train(texts, labels, min_df=1, cv=2, name="score-test", languages=["vi", "en"])
    path = tmp_path_factory.mktemp("models") / "score-test"
    clf.save(path)
    return path


@pytest.fixture(scope="module")
def clf(model):
    return topicclf.load(model)


def make_texts(n: int, seed: int = 0, k: int = 3) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        topic = rng.choice(sorted(SENTENCES))
        out.append(". ".join(rng.sample(SENTENCES[topic], k)))
    return out


def write_jsonl(path: Path, rows: list, opener=open) -> Path:
    with opener(path, "wt", encoding="utf-8") as f:
        for r in rows:
            f.write((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n")
    return path


def read_output(path: Path) -> list[dict]:
    """Rows of a JSONL/CSV/Parquet output as JSONL-like dicts (ids as str)."""
    name = str(path)
    if name.endswith(".parquet"):
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    if name.endswith((".csv", ".csv.gz")):
        opener = gzip.open if name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8", newline="") as f:
            return [{"id": r["id"], "labels": json.loads(r["labels"]), "scores": json.loads(r["scores"]),
                     "lang": r["lang"], "flags": json.loads(r["flags"])} for r in csv.DictReader(f)]
    opener = gzip.open if name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(l) for l in f]


def read_rejects(out: Path) -> list[dict]:
    return [json.loads(l) for l in Path(f"{out}.rejects.jsonl").read_text(encoding="utf-8").splitlines()]


def check_rows(rows: list[dict], clf, texts: list[str], ids: list) -> None:
    """Rows are keyed by ``ids`` in order and equal ``clf.classify(texts)``."""
    assert [str(r["id"]) for r in rows] == [str(i) for i in ids]
    for r, p in zip(rows, clf.classify(texts)):
        assert r["labels"] == p.labels and r["lang"] == p.lang and r["flags"] == p.flags
        assert r["scores"] == pytest.approx(p.scores, abs=2e-6)
        assert list(r["scores"]) == clf.labels


def test_doctests():
    import doctest
    import importlib

    for name in ("topicclf.score", "topicclf.score_io", "topicclf.integrations.ray"):
        assert doctest.testmod(importlib.import_module(name)).failed == 0, name


# ---------------------------------------------------------------------------------------------
# Formats


def write_input(kind: str, folder: Path, texts: list[str], ids: list[str]) -> Path:
    rows = [{"id": i, "text": t, "extra": 1} for i, t in zip(ids, texts)]
    if kind in ("jsonl", "jsonl.gz"):
        return write_jsonl(folder / f"in.{kind}", rows, gzip.open if kind.endswith("gz") else open)
    if kind == "jsonl.zst":
        import zstandard

        path = folder / "in.jsonl.zst"
        data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()
        path.write_bytes(zstandard.ZstdCompressor().compress(data))
        return path
    if kind == "csv":
        path = folder / "in.csv"
        with open(path, "w", encoding="utf-8", newline="") as f:
            w = csv.DictWriter(f, ["id", "text", "extra"])
            w.writeheader()
            w.writerows(rows)
        return path
    if kind == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = folder / "in.parquet"
        pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=7)
        return path
    assert kind == "folder"
    root = folder / "docs"
    for i, t in zip(ids, texts):
        (root / i).parent.mkdir(parents=True, exist_ok=True)
        (root / i).write_text(t, encoding="utf-8")
    return root


@pytest.mark.parametrize("kind", ["jsonl", "jsonl.gz", "jsonl.zst", "csv", "parquet", "folder"])
@pytest.mark.parametrize("out_name", ["out.jsonl", "out.csv", "out.parquet", "out.jsonl.gz"])
def test_formats(tmp_path, model, clf, kind, out_name):
    texts = make_texts(23, seed=1) + [""]  # empty text: scored and flagged, not rejected
    if kind == "folder":  # ids are relative paths, in walk order: a folder's files, then subfolders
        ids = [f"{i:02d}.txt" for i in range(12)] + [f"sub/{i:02d}.html" for i in range(12)]
    else:
        ids = [f"doc-{i}" for i in range(len(texts))]
    src = write_input(kind, tmp_path, texts, ids)
    out = tmp_path / out_name
    summary = score_file(src, out, model=model, batch_size=5, progress=False)
    check_rows(read_output(out), clf, texts, ids)
    assert read_rejects(out) == []
    assert summary["records_in"] == summary["scored"] == len(texts) and summary["rejected"] == 0
    assert summary["flags"] == {"empty": 1} and summary["flagged"] == 1
    assert sum(summary["labels"].values()) == len(texts) - 1  # single-label: one label per scored text
    assert json.loads(Path(f"{out}.summary.json").read_text()) == summary
    assert not Path(f"{out}.parts").exists()


def test_ids_default_to_index_and_title_is_joined(tmp_path, model, clf):
    texts = make_texts(6, seed=2)
    titles = ["Bóng đá", None, "", "Markets", 5, "Y tế"]
    rows = [{"text": t, "title": h} for t, h in zip(texts, titles)]
    rows[3]["id"] = "x"
    src = write_jsonl(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.jsonl"
    score_file(src, out, model=model, title_field="title", progress=False)
    got = read_output(out)
    joined = [f"{h}\n{t}" if h else t for t, h in zip(texts, titles)]
    keep = [0, 1, 2, 3, 5]
    check_rows(got, clf, [joined[i] for i in keep], [0, 1, 2, "x", 5])
    assert [r["id"] for r in got] == [0, 1, 2, "x", 5]  # JSON ids keep their type
    assert read_rejects(out) == [{"position": 5, "id": 4, "reason": "field 'title' is a number, not text",
                                  "index": 4}]


def test_stdin_gzip(tmp_path, model, clf):
    texts = make_texts(8, seed=3)
    data = gzip.compress("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(texts)).encode())
    out = tmp_path / "out.jsonl"
    r = subprocess.run([sys.executable, "-m", "topicclf.cli", "score", "-", "--model", str(model),
                        "--out", str(out), "--quiet"], input=data, env=ENV, capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr.decode()
    assert json.loads(r.stderr.decode().strip().splitlines()[-1])["scored"] == 8
    check_rows(read_output(out), clf, texts, list(range(8)))


def test_bad_arguments(tmp_path, model):
    src = write_jsonl(tmp_path / "in.jsonl", [{"body": "x"}] * 150)
    with pytest.raises(ValueError, match="output format"):
        score_file(src, tmp_path / "out.txt", model=model, progress=False)
    with pytest.raises(DataError, match="unknown input format"):
        score_file(tmp_path / "in.xml", tmp_path / "out.jsonl", model=model, progress=False)
    with pytest.raises(DataError, match="--text-field"):  # none of the first 100 has the field
        score_file(src, tmp_path / "out.jsonl", model=model, progress=False)
    assert not (tmp_path / "out.jsonl.parts").exists()  # nothing to resume: not left behind
    with pytest.raises(DataError, match="--text-field"):  # even after chunks of rejects were written
        score_file(src, tmp_path / "out.jsonl", model=model, batch_size=10, progress=False)
    assert not (tmp_path / "out.jsonl.parts").exists()
    (tmp_path / "in.csv").write_text("id,body\n1,x\n", encoding="utf-8")
    with pytest.raises(DataError, match="no column 'text'"):
        score_file(tmp_path / "in.csv", tmp_path / "out.jsonl", model=model, progress=False)


# ---------------------------------------------------------------------------------------------
# Rejects


def malformed_dump(path: Path, n: int = 1000, seed: int = 4):
    """A JSONL dump with ~1 % malformed lines of several kinds; returns what scoring must give:
    ``(texts, ids)`` of the good records and the expected rejects."""
    texts = make_texts(n, seed=seed)
    bad = {
        50: (b"{\"id\": \"b1\", \"text\": \"unterminated}", None, "invalid JSON"),
        120: (b"[\"an\", \"array\"]", None, "not a JSON object but an array"),
        200: (b"42", None, "not a JSON object but a number"),
        310: (b"{\"id\": \"b4\", \"body\": \"wrong field\"}", "b4", "missing field 'text'"),
        400: (b"{\"id\": \"b5\", \"text\": 3.5}", "b5", "field 'text' is a number, not text"),
        480: (b"{\"id\": \"b6\", \"text\": null}", "b6", "field 'text' is null, not text"),
        555: (b"{\"id\": \"b7\", \"text\": \"caf\xe9 \xff\"}", None, "invalid UTF-8"),
        640: (b"\"just a string\"", None, "not a JSON object but a string"),
        777: (b"{\"id\": \"b9\", \"text\": [\"a\"]}", "b9", "field 'text' is an array, not text"),
        901: (b"{\"id\": \"b10\", \"text\": \"\\ud800 lone surrogate\"}", "b10", "field 'text' is not valid Unicode"),
    }
    lines, good_texts, good_ids, rejects = [], [], [], []
    index = 0
    for i, t in enumerate(texts):
        if i % 97 == 13:
            lines.append(b"   ")  # blank lines are not records: no index, no reject
        if i in bad:
            line, id_, reason = bad[i]
            lines.append(line)
            rejects.append((len(lines), id_, index, reason))
        else:
            if i == 700:
                t = ""  # empty text: scored, flagged
            lines.append(json.dumps({"id": f"r{i}", "text": t}, ensure_ascii=False).encode())
            good_texts.append(t)
            good_ids.append(f"r{i}")
        index += 1
    path.write_bytes(b"\n".join(lines) + b"\n")
    assert len(rejects) == 10  # 1 %
    return good_texts, good_ids, rejects


def test_malformed_lines_are_rejected_and_the_rest_scored(tmp_path, model, clf):
    src = tmp_path / "dump.jsonl"
    texts, ids, expected = malformed_dump(src)
    out = tmp_path / "out.jsonl"
    summary = score_file(src, out, model=model, batch_size=64, progress=False)
    check_rows(read_output(out), clf, texts, ids)
    rejects = read_rejects(out)
    assert [(r["position"], r["id"], r["index"]) for r in rejects] == [e[:3] for e in expected]
    for r, (_, _, _, reason) in zip(rejects, expected):
        assert r["reason"].startswith(reason), r
    # every record is in the output or in the rejects, once
    assert summary["records_in"] == 1000 == summary["scored"] + summary["rejected"]
    assert summary["rejected"] == 10 and summary["flags"] == {"empty": 1}


def test_a_record_that_breaks_the_model_is_rejected_alone(clf):
    from topicclf.score import _score_chunk

    class Fussy:  # a model that fails on one text
        labels = clf.labels

        def _run(self, texts):  # the entry point scoring uses: clean, detect, score
            if any("BOOM" in t for t in texts):
                raise ValueError("cannot handle BOOM")
            return clf._run(texts)

        def __getattr__(self, name):
            return getattr(clf, name)

    texts = make_texts(3, seed=12)
    scored = _score_chunk(Fussy(), [(0, 1, "a", texts[0]), (1, 2, "b", "BOOM " + texts[1]), (2, 3, "c", texts[2])])
    assert scored.out[1] == {"position": 2, "id": "b", "reason": "scoring failed: ValueError: cannot handle BOOM",
                             "index": 1}
    assert [json.loads(scored.out[i])["id"] for i in (0, 2)] == ["a", "c"]


def test_a_record_that_breaks_the_model_is_rejected_alone_in_a_run(tmp_path, model):
    """The same through score_file with workers=1, where cleaning and scoring run as a stream
    (score._Pipeline): the failing record is a reject, every other one is scored once."""
    fussy = topicclf.load(model)  # a copy of its own: its scoring fails on one text
    score = fussy._score

    def _score(clean, langs, flags):
        if any("boom" in t.lower() for t in clean):
            raise ValueError("cannot handle BOOM")
        return score(clean, langs, flags)

    fussy._score = _score

    texts = make_texts(1200, seed=13)
    texts[700] = "BOOM " + texts[700]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n" for i, t in enumerate(texts)),
                   encoding="utf-8")
    out = tmp_path / "out.jsonl"
    s = score_file(src, out, model=fussy, batch_size=300, progress=False)
    assert s["records_in"] == 1200 and s["scored"] == 1199 and s["rejected"] == 1
    (rej,) = [json.loads(l) for l in Path(f"{out}.rejects.jsonl").read_text().splitlines()]
    assert rej["id"] == 700 and rej["reason"] == "scoring failed: ValueError: cannot handle BOOM"
    assert [json.loads(l)["id"] for l in out.read_text().splitlines()] == [i for i in range(1200) if i != 700]


def test_csv_and_folder_rejects(tmp_path, model, clf):
    csv_path = tmp_path / "in.csv"
    csv_path.write_bytes(b"id,text\r\na,\"" + "Cầu thủ ghi bàn thắng\nở phút cuối".encode() + b"\"\r\n"
                         b"b,caf\xe9 \xff\r\n" b"c\r\n" b"\r\n" b"d,\r\n")
    out = tmp_path / "c.jsonl"
    score_file(csv_path, out, model=model, progress=False)
    check_rows(read_output(out), clf, ["Cầu thủ ghi bàn thắng\nở phút cuối", ""], ["a", "d"])
    assert read_rejects(out) == [
        {"position": 4, "id": "b", "reason": "invalid UTF-8", "index": 1},
        {"position": 5, "id": "c", "reason": "missing field 'text'", "index": 2},
    ]

    root = tmp_path / "docs"
    (root / "sub").mkdir(parents=True)
    good = make_texts(4, seed=5)
    (root / "a.txt").write_text(good[0], encoding="utf-16")
    legacy = b"Vi\xea\xf2t Nam th\xe1\xeco tr\xe2\xf2n b\xf3ng \xf0a\xec ch\xf4\xecng \xf0\xe3\xf2c"  # cp1258
    (root / "b.txt").write_bytes(legacy)
    (root / "c.html").write_text(f"<html><body><p>{good[2]}</p></body></html>", encoding="utf-8")
    (root / "d.txt").write_bytes(b"\x81\x8d\x8f\x90 binary \xff\xfe\x00")
    (root / "sub" / "e.TXT").write_text(good[3], encoding="utf-8")
    (root / "notes.md").write_text("not a text file for us", encoding="utf-8")
    (root / ".hidden.txt").write_text("skipped", encoding="utf-8")
    out = tmp_path / "f.parquet"
    summary = score_file(root, out, model=model, progress=False)
    html = f"<html><body><p>{good[2]}</p></body></html>"
    check_rows(read_output(out), clf, [good[0], topicclf.read_text(legacy), html, good[3]], ["a.txt", "b.txt", "c.html", "sub/e.TXT"])
    (rej,) = read_rejects(out)
    assert rej["position"] == rej["id"] == "d.txt" and "could not decode" in rej["reason"]
    assert summary["records_in"] == 5 and summary["rejected"] == 1


# ---------------------------------------------------------------------------------------------
# Resume


def test_leftover_parts_need_resume_and_matching_settings(tmp_path, model, monkeypatch):
    import topicclf.score as score_mod

    src = write_jsonl(tmp_path / "in.jsonl", [{"id": i, "text": t} for i, t in enumerate(make_texts(300, seed=6))])
    clean = tmp_path / "clean.jsonl"
    score_file(src, clean, model=model, batch_size=20, progress=False)
    out = tmp_path / "out.jsonl"

    real_write = score_mod._Parts.write

    def crash_after_5(self, k, header, lines):
        if k == 5:
            raise KeyboardInterrupt  # like Ctrl-C in the middle of a run
        real_write(self, k, header, lines)

    monkeypatch.setattr(score_mod._Parts, "write", crash_after_5)
    with pytest.raises(KeyboardInterrupt):
        score_file(src, out, model=model, batch_size=20, progress=False)
    monkeypatch.setattr(score_mod._Parts, "write", real_write)
    assert not out.exists() and len(list(Path(f"{out}.parts").glob("0*.jsonl"))) == 5

    with pytest.raises(ResumeError, match="--resume"):
        score_file(src, out, model=model, batch_size=20, progress=False)
    with pytest.raises(ResumeError, match="batch_size"):
        score_file(src, out, model=model, batch_size=30, resume=True, progress=False)
    with pytest.raises(ResumeError, match="text_field"):
        score_file(src, out, model=model, text_field="body", resume=True, progress=False)
    other = topicclf.train(make_texts(30, seed=7), ["a", "b", "c"] * 10, min_df=1, cv=2)
    with pytest.raises(ResumeError, match="model"):
        score_file(src, out, model=other, resume=True, progress=False)
    st = src.stat()
    os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # the input changed since
    with pytest.raises(ResumeError, match="input"):
        score_file(src, out, model=model, resume=True, progress=False)
    os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns))

    summary = score_file(src, out, model=model, resume=True, progress=False)  # batch size from the state
    assert summary["resumed_chunks"] == 5 and summary["records_this_run"] == 200
    assert summary["records_in"] == 300 and summary["batch_size"] == 20
    assert out.read_bytes() == clean.read_bytes()
    assert json.loads(Path(f"{out}.summary.json").read_text())["labels"] == summary["labels"]
    assert not Path(f"{out}.parts").exists()


def _children(pid: int) -> set[int]:
    kids: set[int] = set()
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            kids |= {int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()}
    except OSError:
        pass
    return kids


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except OSError:
        return False


def _kill_when(cmd: list[str], parts: Path, n_parts: int, timeout: float = 90) -> set[int]:
    """Start ``cmd``; SIGKILL it once ``parts`` holds ``n_parts`` part files; its children."""
    proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    kids: set[int] = set()
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the run ended before it could be killed: {proc.stderr.read().decode()[-1000:]}")
        kids |= _children(proc.pid)
        if parts.is_dir() and len(list(parts.glob("0*.jsonl"))) >= n_parts:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return kids
        time.sleep(0.005)
    proc.kill()
    pytest.fail("no parts appeared in time")


def test_sigkill_then_resume_gives_the_clean_output(tmp_path, model):
    src = tmp_path / "dump.jsonl"
    malformed_dump(src, n=1000, seed=8)
    with open(src, "ab") as f:  # more records, long enough that a run lasts a few seconds
        for i, t in enumerate(make_texts(5000, seed=9, k=8)):
            f.write(json.dumps({"id": f"s{i}", "text": t}, ensure_ascii=False).encode() + b"\n")
    clean = tmp_path / "clean.jsonl"
    score_file(src, clean, model=model, batch_size=50, progress=False)

    out = tmp_path / "out.jsonl"
    parts = Path(f"{out}.parts")
    cli = [sys.executable, "-m", "topicclf.cli", "score", str(src), "--model", str(model), "--out", str(out),
           "--batch-size", "50", "--quiet"]
    _kill_when(cli, parts, 3)
    assert not out.exists() and not Path(f"{out}.rejects.jsonl").exists()
    # resume with 2 workers, and kill that too: its workers must not outlive it
    kids = _kill_when(cli + ["--resume", "--workers", "2"], parts, 40)
    assert not out.exists()
    deadline = time.monotonic() + 20
    while any(_alive(k) for k in kids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(k) for k in kids), "orphaned workers"

    summary = score_file(src, out, model=model, resume=True, progress=False)
    assert summary["resumed_chunks"] >= 40
    assert out.read_bytes() == clean.read_bytes()  # no lost, no duplicated record
    assert Path(f"{out}.rejects.jsonl").read_bytes() == Path(f"{clean}.rejects.jsonl").read_bytes()
    assert summary["records_in"] == 6000 and summary["rejected"] == 10
    assert not parts.exists()


# ---------------------------------------------------------------------------------------------
# Workers


def test_two_workers_same_output_as_one(tmp_path, model):
    src = tmp_path / "dump.jsonl"
    malformed_dump(src, n=1500, seed=10)
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    s1 = score_file(src, one, model=model, batch_size=40, workers=1, progress=False)
    s2 = score_file(src, two, model=model, batch_size=40, workers=2, progress=False)
    assert one.read_bytes() == two.read_bytes()
    assert Path(f"{one}.rejects.jsonl").read_bytes() == Path(f"{two}.rejects.jsonl").read_bytes()
    drop = ("output", "rejects_file", "summary_file", "seconds", "records_per_s", "workers")
    assert {k: v for k, v in s1.items() if k not in drop} == {k: v for k, v in s2.items() if k not in drop}


# ---------------------------------------------------------------------------------------------
# Ray Data


def test_ray_missing_names_the_extra(monkeypatch):
    from topicclf.integrations import ray as topicclf_ray

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ImportError, match=r"pip install 'topicclf\[ray\]'"):
        topicclf_ray.score_dataset(None, model="x")


def test_topic_scorer_on_plain_batches(model, clf):
    """TopicScorer needs no Ray: pyarrow, pandas and numpy batches give the same typed table."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    from topicclf.integrations.ray import TopicScorer

    texts = make_texts(5, seed=13)
    scorer = TopicScorer(model=str(model), title_field="title", keep_columns=False)
    batch = {"id": ["a", "b", "c", "d", "e"], "text": texts, "title": ["Bóng đá", None, "", "x y", None]}
    tables = [scorer(pa.table(batch)), scorer(pd.DataFrame(batch)),
              scorer({k: np.array(v, dtype=object) for k, v in batch.items()})]
    assert tables[0].to_pylist() == tables[1].to_pylist() == tables[2].to_pylist()  # pandas: large_string ids
    t = tables[0]
    assert t.column_names == ["id", "labels", *("score_" + l for l in clf.labels), "lang", "flags"]
    assert t.schema.field("flags").type == pa.list_(pa.string())
    joined = [f"{h}\n{x}" if h else x for x, h in zip(texts, batch["title"])]
    assert t.column("labels").to_pylist() == [p.labels for p in clf.classify(joined)]


def test_ray_scorer(tmp_path, model, clf):
    ray = pytest.importorskip("ray", reason="Ray Data is optional: pip install 'topicclf[ray]'")
    pytest.importorskip("ray.data", reason="Ray Data is optional: pip install 'topicclf[ray]'")
    import pyarrow.parquet as pq

    from topicclf.integrations.ray import TopicScorer, score_dataset

    texts = make_texts(40, seed=11) + ["", None]
    rows = [{"id": f"d{i}", "text": t} for i, t in enumerate(texts)]
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    try:
        ds = ray.data.from_items(rows)
        # one actor: with two CPUs, two actors would leave none for the tasks feeding them
        score_dataset(ds, model=str(model), keep_columns=False, concurrency=1, batch_size=16) \
            .write_parquet(str(tmp_path / "scored"))
        pandas_rows = ds.map_batches(TopicScorer, fn_constructor_kwargs={"model": str(model)}, concurrency=1,
                                     batch_size=16, batch_format="pandas").take_all()
    finally:
        ray.shutdown()
    got = sorted(pq.read_table(tmp_path / "scored").to_pylist(), key=lambda r: int(r["id"][1:]))
    assert [r["id"] for r in got] == [r["id"] for r in rows]
    preds = clf.classify(texts[:-1])
    for r, p in zip(got, preds):
        assert r["labels"] == p.labels and r["lang"] == p.lang and r["flags"] == p.flags
        assert {k: r["score_" + k] for k in clf.labels} == pytest.approx(p.scores, abs=2e-6)
    assert got[-1]["flags"] == ["not_text"] and got[-1]["labels"] == []
    assert set(got[0]) == {"id", "labels", "lang", "flags", *("score_" + l for l in clf.labels)}
    assert len(pandas_rows) == len(rows) and "text" in pandas_rows[0]


def test_title_without_body_gets_no_labels_and_a_flag(tmp_path, model):
    rows = [{"id": "t", "title": "Cầu thủ ghi bàn thắng ở phút cuối trận chung kết", "text": ""},
            {"id": "u", "title": "Cầu thủ ghi bàn", "text": "Đội tuyển bóng đá thắng trận chung kết tối qua"}]
    src = tmp_path / "titles.jsonl"
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "titles.out.jsonl"
    score_file(src, out, model=model, title_field="title", progress=False)
    got = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert got[0]["labels"] == [] and got[0]["flags"] == ["empty"]
    assert got[1]["labels"] and got[1]["flags"] == []
