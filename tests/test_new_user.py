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


# -- item 3: label descriptions travel with the model ----------------------------------------------

POLICY5 = ["democracy", "human_rights", "religion", "sovereignty", "foreign_relations"]


def test_policy5_labels_have_descriptions(capsys):
    clf = topicclf.load("policy5")
    desc = clf.meta["label_descriptions"]
    assert list(desc) == POLICY5 and all(len(d) > 80 for d in desc.values())
    assert desc["sovereignty"].startswith("Sovereignty and territory (Chủ quyền lãnh thổ): ")
    assert main(["info", "--model", "policy5"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["label_info"]["religion"]["description"] == desc["religion"]
    assert info["label_info"]["religion"]["threshold"] == pytest.approx(clf.thresholds["religion"])


def test_the_taxonomy_document_matches_the_packaged_definitions():
    from topicclf.taxonomy import packaged_taxonomy

    doc = (REPO / "docs" / "TAXONOMY.md").read_text(encoding="utf-8")
    tax = packaged_taxonomy("policy5")
    for label, entry in tax["labels"].items():
        assert f"| `{label}` | {entry['title_vi']} |" in doc


def test_train_saves_label_descriptions(tmp_path, tiny_sets):
    texts, labels = tiny_sets
    desc = {"sport": "matches, athletes, competitions", "business": "companies, markets, prices"}
    clf = topicclf.train(texts * 2, labels * 2, min_df=1, cv=2, label_descriptions=desc)
    clf.save(tmp_path / "m")
    cfg = json.loads((tmp_path / "m" / "config.json").read_text(encoding="utf-8"))
    assert cfg["label_descriptions"] == {"business": desc["business"], "sport": desc["sport"]}
    assert "companies, markets, prices" in (tmp_path / "m" / "README.md").read_text(encoding="utf-8")
    assert topicclf.load(tmp_path / "m").meta["label_descriptions"]["sport"] == desc["sport"]
    with pytest.raises(ValueError, match=r"unknown labels \['sprot'\]"):
        topicclf.train(texts * 2, labels * 2, min_df=1, cv=2, label_descriptions={"sprot": "typo"})


def test_a_model_named_policy5_gets_the_packaged_descriptions(tiny_sets):
    texts = [t for t in tiny_sets[0]] * 2
    labels = [["religion"] if i % 2 else ["democracy"] for i in range(len(texts))]
    clf = topicclf.train(texts, labels, min_df=1, cv=2, name="policy5", label_set=["democracy", "religion"])
    assert clf.meta["label_descriptions"]["religion"].startswith("Religion (Tôn giáo)")
    other = topicclf.train(texts, labels, min_df=1, cv=2, name="mine", label_set=["democracy", "religion"])
    assert "label_descriptions" not in other.meta


# -- item 4: a label given as one string is one label -----------------------------------------------

@pytest.fixture(scope="module")
def multi_model(tmp_path_factory):
    texts = SPORT + BUSINESS
    labels = [["sport"]] * len(SPORT) + [["business"]] * len(BUSINESS)
    clf = topicclf.train(texts * 2, labels * 2, min_df=1, cv=2, name="multi", languages=["vi"])
    return clf.save(tmp_path_factory.mktemp("models") / "multi")


def test_evaluate_a_multilabel_model_on_string_labels(multi_model, tmp_path, capsys):
    clf = topicclf.load(multi_model)
    texts = SPORT + BUSINESS
    strings = ["sport"] * len(SPORT) + ["business"] * len(BUSINESS)
    r1 = topicclf.evaluate(clf, texts, strings)
    r2 = topicclf.evaluate(clf, texts, [[l] for l in strings])
    assert r1["micro_f1"] == r2["micro_f1"] > 0.9
    data = write_jsonl(tmp_path / "test.jsonl", [{"text": t, "label": l} for t, l in zip(texts, strings)])
    assert main(["evaluate", "--model", str(multi_model), "--data", str(data), "--report", str(tmp_path / "r")]) == 0
    assert "micro-F1" in capsys.readouterr().out


# -- item 6: small data, model cards ------------------------------------------------------------------

def test_small_training_data_warns_about_min_df(tiny_sets):
    from topicclf.trainer import SmallDataWarning

    texts, labels = tiny_sets
    with pytest.warns(SmallDataWarning, match="only 24 training texts: min_df=2.*min_df=1"):
        topicclf.train(texts * 2, labels * 2, cv=2)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", SmallDataWarning)
        topicclf.train(texts * 2, labels * 2, cv=2, min_df=1)


def test_model_card_says_how_to_load_the_folder(tmp_path, tiny_sets):
    texts, labels = tiny_sets
    clf = topicclf.train(texts * 2, labels * 2, cv=2, min_df=1, name="my3")
    card = (clf.save(tmp_path / "my3") / "README.md").read_text(encoding="utf-8")
    assert "topicclf.load('my3')" not in card
    assert "the path of this model's folder" in card and "topicclf classify --model" in card
    shipped = (REPO / "models" / "policy5" / "README.md")
    from topicclf.modelcard import model_card

    assert "topicclf.load('policy5')  # a shipped model" in model_card(topicclf.load("policy5").config())
    assert shipped.is_file()


# -- item 7: the command line ------------------------------------------------------------------------

def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.strip() == f"topicclf {topicclf.__version__}"


@pytest.mark.parametrize("command,expected", [
    ("train", ["--C FLOAT", "inverse regularisation", "(default: 0.5)", "--min-df N", "(default: 2)",
               "--cv K", "(default: 3)", "--force", "--label-descriptions"]),
    ("evaluate", ["--report DIR", "metrics.json", "--text-field NAME", "(default: text)"]),
    ("tokenize", ["(default: word)", "syllable: split at spaces"]),
])
def test_help_shows_meanings_and_defaults(command, expected, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for piece in expected:
        assert piece in out, piece


def test_train_prints_its_cross_validated_metrics(tmp_path, capsys):
    rows = [{"text": t, "label": "sport"} for t in SPORT * 2] + [{"text": t, "label": "business"} for t in BUSINESS * 2]
    data = write_jsonl(tmp_path / "train.jsonl", rows)
    assert main(["train", "--data", str(data), "--out", str(tmp_path / "m"), "--min-df", "1", "--cv", "2"]) == 0
    out = capsys.readouterr().out
    assert "cross-validated on the training data (2 folds" in out and "accuracy " in out
    assert f"saved model to {tmp_path / 'm'}" in out and "topicclf.load(" in out


def test_train_cli_warns_about_min_df_on_small_data(tmp_path, capsys):
    rows = [{"text": t, "label": "sport"} for t in SPORT] + [{"text": t, "label": "business"} for t in BUSINESS]
    data = write_jsonl(tmp_path / "train.jsonl", rows)
    assert main(["train", "--data", str(data), "--out", str(tmp_path / "m"), "--cv", "2"]) == 0
    err = capsys.readouterr().err
    assert "topicclf: warning: only 12 training texts: min_df=2" in err and "--min-df 1" in err


def test_train_cli_label_descriptions(tmp_path, capsys):
    rows = [{"text": t, "label": "sport"} for t in SPORT] + [{"text": t, "label": "business"} for t in BUSINESS]
    data = write_jsonl(tmp_path / "train.jsonl", rows)
    (tmp_path / "labels.json").write_text(json.dumps({"sport": "games and athletes", "business": "money"}))
    assert main(["train", "--data", str(data), "--out", str(tmp_path / "m"), "--min-df", "1", "--cv", "2",
                 "--label-descriptions", str(tmp_path / "labels.json")]) == 0
    assert json.loads((tmp_path / "m" / "config.json").read_text())["label_descriptions"]["sport"] == "games and athletes"
    capsys.readouterr()
    assert main(["info", "--model", str(tmp_path / "m")]) == 0
    assert json.loads(capsys.readouterr().out)["label_info"]["business"] == {"description": "money", "threshold": None}


def test_classify_a_folder_says_what_to_do(tmp_path):
    with pytest.raises(SystemExit) as e:
        main(["classify", str(tmp_path)])
    assert "is a folder" in str(e.value.code) and "topicclf score" in str(e.value.code)


def test_tokenize_cli_does_not_load_transformers(tmp_path):
    f = tmp_path / "t.txt"
    f.write_text("Chủ quyền biển đảo của Việt Nam\n", encoding="utf-8")
    code = ("import sys\nfrom topicclf.cli import main\n"
            f"assert main(['tokenize', {str(f)!r}]) == 0\n"
            "heavy = sorted(m for m in ('transformers', 'torch') if m in sys.modules)\n"
            "assert not heavy, heavy\n"
            "import underthesea\n"  # the real package still imports whole afterwards
            "assert underthesea.word_tokenize('Việt Nam') == ['Việt Nam'] and underthesea.pos_tag\n")
    r = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["Chủ_quyền", "biển", "đảo", "của", "Việt_Nam"]


def test_score_file_shows_its_signature():
    import inspect

    from topicclf import score as score_module

    ours = inspect.signature(topicclf.score_file).parameters
    real = inspect.signature(score_module.score_file).parameters
    assert [(p.name, p.kind, p.default) for p in ours.values()] == [(p.name, p.kind, p.default) for p in real.values()]
    assert "text_field" in (topicclf.score_file.__doc__ or "") or "text_field" in str(inspect.signature(topicclf.score_file))


# -- item 5: thresholds can be changed, and tuned on one's own data ----------------------------------

def test_assigning_into_thresholds_is_an_error_not_a_silent_no_op(multi_model):
    clf = topicclf.load(multi_model)
    with pytest.raises(TypeError, match=r"read-only copy.*set_thresholds"):
        clf.thresholds["sport"] = 0.3
    with pytest.raises(TypeError, match="set_thresholds"):
        clf.thresholds.update(sport=0.3)
    import copy
    import pickle

    t = clf.thresholds
    assert json.loads(json.dumps(t)) == dict(t) and copy.deepcopy(t) == t and pickle.loads(pickle.dumps(t)) == t
    mutable = copy.copy(t)
    mutable["sport"] = 0.1  # a copy is a plain dict


def test_set_thresholds_changes_predictions_and_is_saved(multi_model, tmp_path):
    clf = topicclf.load(multi_model)
    text = SPORT[0]
    assert clf.classify(text).labels == ["sport"]
    assert clf.set_thresholds({"sport": 1.0}) is clf
    assert clf.thresholds["sport"] == 1.0 and clf.classify(text).labels == []
    assert clf.label_info["sport"]["threshold"] == 1.0
    clf.save(tmp_path / "m2")
    again = topicclf.load(tmp_path / "m2")
    assert again.thresholds["sport"] == 1.0 and again.thresholds["business"] == clf.thresholds["business"]
    assert again.predict([text]) == [[]]


@pytest.mark.parametrize("bad,message", [
    ({"sprot": 0.5}, r"unknown labels \['sprot'\]"), ({"sport": 0}, r"in \(0, 1\]"),
    ({"sport": 1.5}, r"in \(0, 1\]"), ({"sport": float("nan")}, r"in \(0, 1\]"),
    ({"sport": "0.5"}, "must be a number"), ({"sport": True}, "must be a number"),
])
def test_set_thresholds_is_validated(multi_model, bad, message):
    clf = topicclf.load(multi_model)
    before = dict(clf.thresholds)
    with pytest.raises(ValueError, match=message):
        clf.set_thresholds(bad)
    assert dict(clf.thresholds) == before
    with pytest.raises(TypeError, match="mapping"):
        clf.set_thresholds(0.5)


def test_single_label_models_have_no_thresholds_to_set(tiny_model):
    clf = topicclf.load(tiny_model)
    with pytest.raises(ValueError, match="single-label"):
        clf.set_thresholds({"sport": 0.5})
    assert clf.label_info["sport"] == {"description": None, "threshold": None}


def test_tune_thresholds_api(multi_model):
    clf = topicclf.load(multi_model)
    clf.set_thresholds({"sport": 0.999, "business": 0.999})  # predicts almost nothing
    texts = SPORT + BUSINESS
    gold = ["sport"] * len(SPORT) + [["business"]] * len(BUSINESS)  # strings and lists both work
    report = clf.tune_thresholds(texts, gold)
    assert report["records"] == report["scored"] == 12
    r = report["labels"]["sport"]
    assert r["positives"] == 6 and r["threshold_before"] == 0.999 and r["threshold"] < 0.999
    assert r["f1"] == 1.0 and r["f1"] >= r["f1_before"]
    assert clf.thresholds["sport"] == r["threshold"]
    report = clf.tune_thresholds(texts[:8], gold[:8], min_positives=3)  # 2 business texts only
    assert "kept" in report["labels"]["business"]["note"]
    with pytest.raises(ValueError, match="unknown label 'golf'"):
        clf.tune_thresholds(texts[:1], ["golf"])


def test_tune_thresholds_cli_saves_a_copy(multi_model, tmp_path, capsys):
    rows = [{"text": t, "labels": ["sport"]} for t in SPORT] + [{"text": t, "labels": ["business"]} for t in BUSINESS]
    dev = write_jsonl(tmp_path / "dev.jsonl", rows)
    before = (multi_model / "config.json").read_bytes()
    out = tmp_path / "tuned"
    assert main(["tune-thresholds", "--model", str(multi_model), "--data", str(dev), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "F1 after is measured on the texts the thresholds were chosen on" in printed and "sport" in printed
    tuned = topicclf.load(out)
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["threshold_tuning"]["data"]["path"] == "dev.jsonl" and cfg["name"] == "tuned"
    assert dict(tuned.thresholds) == pytest.approx(cfg["thresholds"], abs=1e-6)  # float32 weights file
    assert (multi_model / "config.json").read_bytes() == before  # the original is untouched
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("x")
    assert main(["tune-thresholds", "--model", str(multi_model), "--data", str(dev), "--out", str(tmp_path / "busy")]) == 2
    assert "not a topicclf model folder" in capsys.readouterr().err


def test_routed_thresholds_per_route(tiny_sets, tmp_path):
    from topicclf.classifiers.routed import RoutedTopicClassifier

    texts = SPORT + BUSINESS
    labels = [["sport"]] * len(SPORT) + [["business"]] * len(BUSINESS)
    vi = topicclf.train(texts * 2, labels * 2, min_df=1, cv=2, languages=["vi"], name="vi")
    en = topicclf.train(texts * 2, labels * 2, min_df=1, cv=2, languages=["vi"], name="en")
    routed = RoutedTopicClassifier({"vi": vi, "en": en}, meta={"name": "both"})
    routed.set_thresholds({"sport": 0.9}, lang="en")
    assert routed.label_info["sport"]["threshold"]["en"] == 0.9 != routed.label_info["sport"]["threshold"]["vi"]
    routed.set_thresholds({"sport": 0.8})
    assert {m.thresholds["sport"] for m in routed.routes.values()} == {0.8}
    with pytest.raises(ValueError, match="no route for 'fr'"):
        routed.set_thresholds({"sport": 0.5}, lang="fr")
    report = routed.tune_thresholds(texts, labels)
    assert set(report["routes"]) == {"vi"} and report["routes"]["vi"]["labels"]["sport"]["f1"] == 1.0


# -- classify(str), label_info, the card of a saved model ------------------------------------------------

def test_classify_one_string_returns_one_prediction(tiny_model):
    clf = topicclf.load(tiny_model)
    one = clf.classify(SPORT[0])
    assert isinstance(one, topicclf.Prediction) and one == clf.classify([SPORT[0]])[0]
    assert one.labels == ["sport"]
    with pytest.raises(TypeError, match="single str"):
        clf.predict(SPORT[0])  # predict keeps the estimator contract: a list in, a list out


def test_label_info_of_policy5():
    info = topicclf.load("policy5").label_info
    assert list(info) == POLICY5
    assert info["democracy"]["description"].startswith("Democracy and elections (Dân chủ)")
    assert 0 < info["democracy"]["threshold"] < 1


def test_card_of_a_saved_model_names_its_path(tmp_path, tiny_sets, monkeypatch):
    texts, labels = tiny_sets
    clf = topicclf.train(texts * 2, labels * 2, cv=2, min_df=1, name="my3")
    monkeypatch.chdir(tmp_path)
    card = (clf.save("out/my3") / "README.md").read_text(encoding="utf-8")
    assert "topicclf.load('out/my3')" in card and "topicclf classify --model out/my3" in card
    assert str(tmp_path) not in card
    card = (clf.save(tmp_path / "abs" / "my3") / "README.md").read_text(encoding="utf-8")
    assert "topicclf.load('path/to/my3')" in card and str(tmp_path) not in card


# -- item 8: the notebook ---------------------------------------------------------------------------

def test_readme_links_the_notebook_and_the_taxonomy():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "](notebooks/quickstart.ipynb)" in readme and "](docs/TAXONOMY.md)" in readme


def test_the_stored_notebook_has_its_outputs():
    nb = json.loads((REPO / "notebooks" / "quickstart.ipynb").read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code and all(c.get("outputs") for c in code), "run the notebook and save it with its outputs"
    assert not [o for c in code for o in c["outputs"] if o.get("output_type") == "error"]
    text = "".join("".join(o.get("text", "")) for c in code for o in c["outputs"])
    assert "Dân chủ" in text and "/tmp/" not in text and "/work/" not in text
