"""The CLI end to end, on small files the tests write."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from topicclf.cli import main

from conftest import BUSINESS, SPORT


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def labeled(tmp_path):
    rows = [{"id": f"s{i}", "text": t, "label": "sport"} for i, t in enumerate(SPORT * 2)]
    rows += [{"id": f"b{i}", "text": t, "label": "business"} for i, t in enumerate(BUSINESS * 2)]
    return write_jsonl(tmp_path / "train.jsonl", rows)


def test_train_evaluate_score_classify(tmp_path, labeled, capsys):
    model = tmp_path / "m"
    assert main(["train", "--data", str(labeled), "--out", str(model), "--min-df", "1", "--cv", "2"]) == 0
    assert (model / "config.json").is_file()
    assert main(["evaluate", "--model", str(model), "--data", str(labeled), "--report", str(tmp_path / "rep")]) == 0
    metrics = json.loads((tmp_path / "rep" / "metrics.json").read_text())
    assert metrics["accuracy"] > 0.9 and "macro_f1" in metrics and "micro_f1" in metrics
    assert set(metrics["per_label"]["sport"]) >= {"precision", "recall", "f1"}
    assert (tmp_path / "rep" / "report.md").read_text().startswith("# ")
    assert (tmp_path / "rep" / "confusion_matrix.png").stat().st_size > 1000

    dump = write_jsonl(tmp_path / "dump.jsonl", [{"text": SPORT[0]}, {"id": "x", "text": BUSINESS[0]}])
    out = tmp_path / "out.jsonl"
    assert main(["score", str(dump), "--model", str(model), "--out", str(out), "--quiet"]) == 0
    rows = [json.loads(l) for l in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == [0, "x"] or [r["id"] for r in rows] == ["0", "x"]
    assert rows[0]["labels"] == ["sport"] and rows[1]["labels"] == ["business"]
    assert set(rows[0]["scores"]) == {"sport", "business"} and rows[0]["lang"] == "vi"

    art = tmp_path / "a.txt"
    art.write_text(SPORT[1], encoding="utf-16")  # VNTC raw files are UTF-16
    capsys.readouterr()
    assert main(["classify", str(art), "--model", str(model)]) == 0
    text = capsys.readouterr().out
    assert "sport" in text and "[vi]" in text
    assert main(["classify", str(art), "--model", str(model), "--json", "--explain"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["labels"] == ["sport"] and d["explanation"]["sport"]


def test_train_errors_name_record_and_fix(tmp_path, capsys):
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"id": "a", "text": "x y z", "label": "s"},
                                               {"id": "b", "body": "x y z", "label": "t"}])
    assert main(["train", "--data", str(bad), "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "record 1" in err and "'b'" in err
    one = write_jsonl(tmp_path / "one.jsonl", [{"id": str(i), "text": "a b c", "label": "s"} for i in range(4)])
    assert main(["train", "--data", str(one), "--out", str(tmp_path / "m")]) == 2
    assert "only one class" in capsys.readouterr().err
    mixed = write_jsonl(tmp_path / "mixed.jsonl", [{"id": "1", "text": "a b c", "label": 3},
                                                   {"id": "2", "text": "a b c", "label": "x"}])
    assert main(["train", "--data", str(mixed), "--out", str(tmp_path / "m")]) == 2
    assert "record 0" in capsys.readouterr().err


def test_tokenize_and_info_commands(tmp_path, capsys):
    f = tmp_path / "t.txt"
    f.write_text("Chủ quyền biển đảo\n", encoding="utf-8")
    assert main(["tokenize", str(f), "--mode", "syllable"]) == 0
    assert capsys.readouterr().out.split() == ["Chủ", "quyền", "biển", "đảo"]
    assert main(["info"]) == 0
    assert "shipped_models" in json.loads(capsys.readouterr().out)


def test_console_script_runs():
    exe = Path(sys.executable).parent / "topicclf"
    if not exe.exists():
        pytest.skip("the console script is installed by `pip install -e .` (make test does it)")
    r = subprocess.run([str(exe), "info"], capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert r.returncode == 0 and "topicclf" in r.stdout


def test_classify_evidence(tmp_path, tiny_model, capsys):
    art = tmp_path / "a.txt"
    long_tail = " ".join(["thêm"] * 80)
    art.write_text(f"{SPORT[0]}. {BUSINESS[0]}. {SPORT[1]} {long_tail}.", encoding="utf-8")
    assert main(["classify", str(art), "--model", str(tiny_model), "--evidence", "--top-k", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    at = out.index("  evidence for sport:")
    lines = out[at + 1:at + 3]
    assert len(lines) == 2 and all(re.match(r"^ {6}[01]\.\d{3}  \S", l) for l in lines)
    assert all(len(l) <= 6 + 7 + 200 for l in out[at + 1:])  # long sentences are shortened
    assert any(l.endswith("…") for l in lines)
    assert main(["classify", str(art), "--model", str(tiny_model), "--evidence", "--top-k", "1", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert list(d["evidence"]) == d["labels"] == ["sport"]
    (sentence, score), = d["evidence"]["sport"]
    assert isinstance(sentence, str) and 0 < score <= 1
