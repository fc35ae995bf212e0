"""Saving never deletes what it did not write (issue #14, item 1)."""

import json
import os
import subprocess
import sys

import pytest

import topicclf
from topicclf import serialization
from topicclf.serialization import ModelFileError, is_model_dir, load_model_dir, save_model_dir

from conftest import REPO

ENV = {**os.environ, "PYTHONPATH": str(REPO / "src"), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


@pytest.fixture(scope="module")
def clf(tiny_model):
    return topicclf.load(tiny_model)


def _files(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_save_refuses_a_folder_with_user_files(clf, tmp_path):
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "thesis.tex").write_text("my thesis")
    with pytest.raises(FileExistsError, match="not a topicclf model folder.*thesis.tex.*overwrite=True"):
        clf.save(keep)
    assert _files(keep) == ["thesis.tex"] and (keep / "thesis.tex").read_text() == "my thesis"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left


def test_overwrite_writes_beside_user_files(clf, tmp_path):
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "thesis.tex").write_text("my thesis")
    config = clf.config()
    save_model_dir(keep, config, {"a": __import__("numpy").zeros(2)}, {}, "card", overwrite=True)
    assert (keep / "thesis.tex").read_text() == "my thesis" and is_model_dir(keep)
    assert "thesis.tex" not in json.loads((keep / "manifest.json").read_text())["files"]


def test_save_into_an_empty_folder(clf, tmp_path):
    (tmp_path / "empty").mkdir()
    clf.save(tmp_path / "empty")
    assert topicclf.load(tmp_path / "empty").labels == clf.labels


def test_resaving_a_model_folder_keeps_other_files(clf, tmp_path):
    path = tmp_path / "m"
    clf.save(path, extra_files={"report/old.json": b"{}", "report/shared.md": b"x"})
    (path / "notes.txt").write_text("mine")
    (path / "report" / "my_plot.png").write_bytes(b"png")
    (path / "sub").mkdir()
    (path / "sub" / "data.csv").write_text("a,b")
    clf.save(path, card_extra="second save", extra_files={"report/shared.md": b"y"})
    assert _files(path) == ["README.md", "config.json", "manifest.json", "notes.txt", "report/my_plot.png",
                            "report/shared.md", "sub/data.csv", "vocab.json", "weights.safetensors"]
    assert (path / "notes.txt").read_text() == "mine" and (path / "report" / "shared.md").read_bytes() == b"y"
    assert "second save" in (path / "README.md").read_text()
    topicclf.load(path)
    # a folder that held only old model files goes with them
    clf.save(path)
    assert not (path / "report" / "shared.md").exists() and (path / "report" / "my_plot.png").exists()
    clf.save(path, extra_files={"extra/a.txt": b"1"})
    clf.save(path)
    assert not (path / "extra").exists()


def test_model_file_name_taken_by_a_user_file(clf, tmp_path):
    path = tmp_path / "m"
    clf.save(path)
    (path / "report").mkdir()
    (path / "report" / "metrics.json").write_text("user's")
    with pytest.raises(FileExistsError, match="not written by topicclf"):
        clf.save(path, extra_files={"report/metrics.json": b"{}"})
    assert (path / "report" / "metrics.json").read_text() == "user's"
    topicclf.load(path)


def test_a_file_is_not_a_model_folder(clf, tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(FileExistsError, match="is a file"):
        clf.save(tmp_path / "f")
    assert (tmp_path / "f").read_text() == "x"


def test_crash_after_commit_is_finished_by_the_next_load(clf, tmp_path, monkeypatch):
    path = tmp_path / "m"
    clf.save(path, card_extra="old model")
    (path / "notes.txt").write_text("mine")

    def crash(_path):
        raise KeyboardInterrupt

    monkeypatch.setattr(serialization, "_apply_journal", crash)
    with pytest.raises(KeyboardInterrupt):
        clf.save(path, card_extra="new model")
    monkeypatch.undo()
    assert (path / ".topicclf-save.json").exists() and "old model" in (path / "README.md").read_text()
    load_model_dir(path)  # finishes the save
    assert "new model" in (path / "README.md").read_text() and (path / "notes.txt").read_text() == "mine"
    assert _files(path) == ["README.md", "config.json", "manifest.json", "notes.txt", "vocab.json",
                            "weights.safetensors"]


def test_crash_before_commit_leaves_the_old_model(clf, tmp_path, monkeypatch):
    path = tmp_path / "m"
    clf.save(path, card_extra="old model")
    real = os.replace

    def crash(src, dst):
        if str(dst).endswith(".topicclf-save.json"):
            raise OSError("disk full")
        return real(src, dst)

    monkeypatch.setattr(serialization.os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        clf.save(path, card_extra="new model")
    monkeypatch.undo()
    load_model_dir(path)
    assert "old model" in (path / "README.md").read_text()
    (path / ".README.md.topicclf-new").write_text("left by a killed save")
    clf.save(path, card_extra="new model")
    assert _files(path) == ["README.md", "config.json", "manifest.json", "vocab.json", "weights.safetensors"]


def test_a_corrupt_journal_is_a_clear_error(clf, tmp_path):
    path = tmp_path / "m"
    clf.save(path)
    (path / ".topicclf-save.json").write_text("{")
    with pytest.raises(ModelFileError, match="interrupted save"):
        load_model_dir(path)


def test_cli_train_refuses_a_folder_with_user_files(tmp_path):
    from conftest import BUSINESS, SPORT

    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps({"text": t, "label": l}) + "\n"
                            for t, l in [(t, "sport") for t in SPORT] + [(t, "business") for t in BUSINESS]))
    out = tmp_path / "important"
    out.mkdir()
    (out / "notes.txt").write_text("do not lose me")
    r = subprocess.run([sys.executable, "-m", "topicclf.cli", "train", "--data", str(data), "--out", str(out),
                        "--min-df", "1", "--cv", "2"], env=ENV, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "not a topicclf model folder" in r.stderr and "--force" in r.stderr, r.stderr
    assert "saved model" not in r.stdout and "Traceback" not in r.stderr
    assert _files(out) == ["notes.txt"] and (out / "notes.txt").read_text() == "do not lose me"


def test_cli_train_force_writes_beside_user_files(tmp_path):
    from topicclf.cli import main

    from conftest import BUSINESS, SPORT

    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps({"text": t, "label": l}) + "\n"
                            for t, l in [(t, "sport") for t in SPORT] + [(t, "business") for t in BUSINESS]))
    out = tmp_path / "important"
    out.mkdir()
    (out / "notes.txt").write_text("do not lose me")
    assert main(["train", "--data", str(data), "--out", str(out), "--min-df", "1", "--cv", "2", "--force"]) == 0
    assert (out / "notes.txt").read_text() == "do not lose me" and is_model_dir(out)
    topicclf.load(out)
