"""What a new user trips on (issue #14): silent failures, missing label definitions, CLI edges."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import topicclf
from topicclf.cli import main

from conftest import BUSINESS, REPO, SPORT

ENV = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO / "src"), HF_HUB_OFFLINE="1",
           HF_DATASETS_OFFLINE="1")


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def cli(*args, env=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "topicclf.cli", *map(str, args)], env={**ENV, **(env or {})},
                          capture_output=True, text=True, timeout=timeout)


# -- item 2: a run that scores nothing is an error that names the cause ----------------------------

def test_score_with_a_wrong_text_field_fails_and_names_the_fields(tmp_path, tiny_model, capsys):
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": i, "body": t} for i, t in enumerate(SPORT)])
    out = tmp_path / "out.jsonl"
    assert main(["score", str(src), "--model", str(tiny_model), "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "every record (6) was rejected" in err and "missing field 'text'" in err
    assert "['body', 'id']" in err and "--text-field body" in err
    assert json.loads(err.strip().splitlines()[-1])["rejected"] == 6  # the JSON summary stays the last line


def test_score_of_a_folder_of_jsonl_files_fails_and_names_what_it_skipped(tmp_path, tiny_model, capsys):
    folder = tmp_path / "dumps"
    folder.mkdir()
    for name in ("a.jsonl", "b.jsonl"):
        write_jsonl(folder / name, [{"text": SPORT[0]}])
    assert main(["score", str(folder), "--model", str(tiny_model), "--out", str(tmp_path / "o.jsonl")]) == 1
    err = capsys.readouterr().err
    assert "read no record" in err and "2 .jsonl" in err and ".txt/.html/.htm" in err
    assert "cat " in err  # how to score them instead


def test_score_of_an_empty_file_fails(tmp_path, tiny_model, capsys):
    (tmp_path / "in.jsonl").write_text("\n\n")
    assert main(["score", str(tmp_path / "in.jsonl"), "--model", str(tiny_model),
                 "--out", str(tmp_path / "o.jsonl"), "--quiet"]) == 1
    assert "read no record" in capsys.readouterr().err


def test_partial_failure_prints_a_human_summary(tmp_path, tiny_model, capsys):
    rows = [{"id": i, "text": t} for i, t in enumerate(SPORT)] + [{"id": 9, "text": 5}, {"id": 10, "text": ""}]
    src = write_jsonl(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.jsonl"
    assert main(["score", str(src), "--model", str(tiny_model), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"scored 7 of 8 records into {out}" in err
    assert "flagged" in err and "empty 1" in err
    assert f"rejected (not scored): 1" in err and f"{out}.rejects.jsonl" in err and "is a number" in err
    assert json.loads(err.strip().splitlines()[-1])["scored"] == 7


def test_score_logs_progress_lines_when_stderr_is_not_a_terminal(tmp_path, tiny_model):
    src = write_jsonl(tmp_path / "in.jsonl", [{"text": t} for t in SPORT * 5])
    r = cli("score", src, "--model", tiny_model, "--out", tmp_path / "o.jsonl", "--batch-size", "10",
            env={"TOPICCLF_PROGRESS_INTERVAL": "0"})
    assert r.returncode == 0, r.stderr
    lines = [l for l in r.stderr.splitlines() if l.startswith("topicclf: scoring:")]
    assert len(lines) >= 3 and "\r" not in r.stderr
    assert "30 records" in lines[-1] and "done in" in lines[-1]
