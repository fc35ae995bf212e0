"""The retraining loop (#13): topicclf select (what to label next), Label Studio import/export,
and topicclf evaluate --model A --model B (a paired bootstrap comparison)."""

from __future__ import annotations

import gzip
import json
import random
import warnings
from pathlib import Path

import numpy as np
import pytest

import topicclf
from topicclf.cli import main
from topicclf.comparison import LabelSetError, compare, paired_bootstrap
from topicclf.data import DataError, load_records
from topicclf.labelstudio import LabelStudioWarning, read_label_studio
from topicclf.selection import SelectionWarning, select, uncertainty

# Our own sentences, three topics, Vietnamese and English.
SENTENCES = {
    "sport": [
        "Đội tuyển bóng đá Việt Nam thắng hai bàn trong trận chung kết tối qua",
        "Cầu thủ trẻ ghi bàn thắng quyết định ở phút cuối trận đấu",
        "Huấn luyện viên công bố danh sách cầu thủ dự giải vô địch",
        "Vận động viên điền kinh giành huy chương vàng tại đại hội thể thao",
        "Câu lạc bộ bóng đá chiêu mộ tiền đạo mới cho mùa giải",
        "The national football team won the final with two late goals",
        "The young striker scored the winning goal in the last minute of the match",
        "The coach named the squad for the championship tournament",
    ],
    "business": [
        "Giá vàng trong nước tăng mạnh theo đà tăng của thị trường thế giới",
        "Ngân hàng nhà nước điều chỉnh lãi suất điều hành từ tháng sau",
        "Doanh nghiệp xuất khẩu gạo báo lãi lớn trong quý ba",
        "Thị trường chứng khoán giảm điểm phiên thứ ba liên tiếp",
        "Công ty công nghệ huy động vốn đầu tư để mở rộng sản xuất",
        "Gold prices rose sharply as investors sought safety in the markets",
        "The central bank raised interest rates to curb inflation",
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
        "Scientists are testing a new drug for diabetes patients",
    ],
}
TOPICS = sorted(SENTENCES)


def articles(n: int, seed: int = 0) -> tuple[list[str], list[list[str]]]:
    """Articles of 2-4 sentences from one or two topics, with their (multi-)labels."""
    rng = random.Random(seed)
    texts, labels = [], []
    for _ in range(n):
        topics = rng.sample(TOPICS, rng.choice([1, 1, 2]))
        sents = [s for t in topics for s in rng.sample(SENTENCES[t], 2)]
        rng.shuffle(sents)
        texts.append(". ".join(sents))
        labels.append(sorted(topics))
    return texts, labels


@pytest.fixture(scope="module")
def multi(tmp_path_factory):
    texts, labels = articles(60, seed=1)
    clf = topicclf.train(texts, labels, min_df=1, cv=2, name="multi-a", languages=["vi", "en"])
    path = tmp_path_factory.mktemp("models") / "multi-a"
    clf.save(path)
    return path


@pytest.fixture(scope="module")
def multi_clf(multi):
    return topicclf.load(multi)


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    texts = [s for v in SENTENCES.values() for s in v]
    labels = [k for k, v in SENTENCES.items() for _ in v]
    clf = topicclf.train(texts * 2, labels * 2, min_df=1, cv=2, name="single", languages=["vi", "en"])
    path = tmp_path_factory.mktemp("models") / "single"
    clf.save(path)
    return path


def write_jsonl(path: Path, rows: list, opener=open) -> Path:
    with opener(path, "wt", encoding="utf-8") as f:
        for r in rows:
            f.write((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n")
    return path


def dump_rows(n: int, seed: int = 7) -> list[dict]:
    texts, _ = articles(n, seed=seed)
    return [{"id": f"d{i}", "text": t} for i, t in enumerate(texts)]


# ---------------------------------------------------------------------------------------------
# select

def test_select_picks_the_least_sure_spread_with_why(tmp_path, multi, multi_clf):
    rows = dump_rows(150)
    dump = write_jsonl(tmp_path / "dump.jsonl", rows)
    out = tmp_path / "to_label.jsonl"
    sel = select(dump, model=multi, n=20, out=out)
    written = [json.loads(l) for l in out.read_text(encoding="utf-8").splitlines()]
    assert len(sel) == len(written) == 20
    assert [r["id"] for r in written] == [r["id"] for r in sel.rows]
    for r in written:
        assert set(r) >= {"id", "text", "scores", "why"} and set(r["scores"]) == set(multi_clf.labels)
        assert "its threshold" in r["why"] and r["selected_as"] == "uncertain"
    assert len({r["id"] for r in written}) == 20
    # the chosen are among the least sure: every one is at most as sure as the median article
    P = multi_clf.predict_proba([r["text"] for r in rows])
    u, _, _ = uncertainty(multi_clf, P, ["vi"] * len(rows))
    by_id = dict(zip((r["id"] for r in rows), u))
    assert max(by_id[r["id"]] for r in written) <= np.median(u) + 1e-9
    # spread: more than one label among the labels they are unsure about
    assert len(sel.summary["by_label"]) > 1
    assert sel.summary["records_in"] == sel.summary["eligible"] == 150


def test_select_is_deterministic_and_random_share(tmp_path, multi):
    dump = write_jsonl(tmp_path / "dump.jsonl", dump_rows(120))
    a = select(dump, model=multi, n=10, random_share=0.3, seed=3)
    b = select(dump, model=multi, n=10, random_share=0.3, seed=3)
    c = select(dump, model=multi, n=10, random_share=0.3, seed=4)
    assert [r["id"] for r in a] == [r["id"] for r in b]
    assert sum(r["selected_as"] == "random" for r in a) == 3 == a.summary["random"]
    assert all(r["why"].startswith("random sample") for r in a if r["selected_as"] == "random")
    assert {r["id"] for r in a if r["selected_as"] == "random"} != {r["id"] for r in c if r["selected_as"] == "random"}


def test_select_bounded_pool_keeps_the_most_uncertain(tmp_path, multi, multi_clf):
    rows = dump_rows(300, seed=11)
    dump = write_jsonl(tmp_path / "dump.jsonl", rows)
    sel = select(dump, model=multi, n=5, pool_factor=1, batch_size=17, near_duplicate=None)
    # the single most uncertain (distinct) article of the dump is always chosen
    P = multi_clf.predict_proba([r["text"] for r in rows])
    u, _, _ = uncertainty(multi_clf, P, ["vi"] * len(rows))
    assert rows[int(np.argmin(u))]["id"] in {r["id"] for r in sel}


def test_select_never_picks_flagged_or_duplicates_and_warns_when_short(tmp_path, multi):
    base = dump_rows(6, seed=5)
    near = dict(base[0], id="near", text=base[0]["text"] + ". Ảnh: Internet")
    rows = base + [
        {"id": "copy", "text": base[1]["text"]},                 # exact duplicate
        {"id": "copy-html", "text": "<p>" + base[2]["text"] + "</p>"},  # the same once cleaned
        near,                                                   # near duplicate
        {"id": "empty", "text": ""},
        {"id": "blank", "text": "   "},
        {"id": "short", "text": "Bóng đá"},
        {"id": "french", "text": "Le gouvernement a annoncé une nouvelle réforme des retraites pour les "
                                 "travailleurs du secteur public cette semaine à Paris"},
        "{not json",
        {"id": "num", "text": 5},
    ]
    dump = write_jsonl(tmp_path / "dump.jsonl", rows)
    out = tmp_path / "sel.jsonl"
    with pytest.warns(SelectionWarning, match=r"asked for 50 articles but .* holds only 6 eligible distinct"):
        sel = select(dump, model=multi, n=50, out=out)
    ids = {r["id"] for r in sel}
    assert ids == {r["id"] for r in base}
    s = sel.summary
    assert s["flagged"] == 4 and s["rejected"] == 2 and s["selected"] == 6
    assert s["duplicates_skipped"]["exact"] == 2 and s["duplicates_skipped"]["near"] == 1
    assert {"empty", "too_short"} <= set(s["flags"]) and any(f.startswith("unsupported_language") for f in s["flags"])
    assert len(Path(f"{out}.rejects.jsonl").read_text().splitlines()) == 2


def test_select_single_label_margin(tmp_path, single):
    dump = write_jsonl(tmp_path / "dump.jsonl", dump_rows(60, seed=2))
    sel = select(dump, model=single, n=6)
    assert len(sel) == 6
    assert all(" vs " in r["why"] and "apart" in r["why"] for r in sel)
    us = [r["uncertainty"] for r in sel]
    assert all(0 <= x <= 1 for x in us)


def test_select_cli_damaged_input_exits_1(tmp_path, multi, capsys):
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in dump_rows(80)).encode()
    raw = gzip.compress(data)
    dump = tmp_path / "dump.jsonl.gz"
    dump.write_bytes(raw[: len(raw) * 2 // 3])  # cut
    out = tmp_path / "sel.jsonl"
    assert main(["select", str(dump), "--model", str(multi), "--n", "5", "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "damaged" in err and out.is_file()
    summary = json.loads(err.strip().splitlines()[-1])
    assert summary["damaged"] == 1 and summary["selected"] >= 1


def test_select_cli_nothing_eligible(tmp_path, multi, capsys):
    dump = write_jsonl(tmp_path / "dump.jsonl", [{"id": 1, "text": ""}, {"id": 2, "text": "ok"}])
    assert main(["select", str(dump), "--model", str(multi), "--n", "5", "--out", str(tmp_path / "o.jsonl")]) == 1
    assert "no record can be selected" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# Label Studio

def test_label_studio_round_trip_trains(tmp_path, multi, capsys):
    dump = write_jsonl(tmp_path / "dump.jsonl", dump_rows(80, seed=9))
    out = tmp_path / "tasks.json"
    assert main(["select", str(dump), "--model", str(multi), "--n", "12", "--out", str(out), "--quiet"]) == 0
    tasks = json.loads(out.read_text(encoding="utf-8"))
    assert len(tasks) == 12
    t = tasks[0]
    assert set(t["data"]) >= {"text", "id", "why", "scores"}
    for pred in t["predictions"]:
        assert pred["model_version"] == "multi-a"
        for res in pred["result"]:
            assert res["from_name"] == "labels" and res["to_name"] == "text" and res["type"] == "choices"
    config = Path(f"{out}.config.xml").read_text(encoding="utf-8")
    assert 'name="labels" toName="text" choice="multiple"' in config and '<Choice value="sport"/>' in config
    # what Label Studio exports after a person labelled them
    _, gold = articles(80, seed=9)
    gold_of = {f"d{i}": g for i, g in enumerate(gold)}
    export = []
    for k, task in enumerate(tasks):
        labels = gold_of[task["data"]["id"]]
        anns = [{"id": 10 * k + 1, "result": [{"type": "choices", "from_name": "labels", "to_name": "text",
                                               "value": {"choices": ["health"]}}],
                 "was_cancelled": False, "updated_at": "2026-12-01T10:00:00Z"},
                {"id": 10 * k + 2, "result": [{"type": "choices", "from_name": "labels", "to_name": "text",
                                               "value": {"choices": labels}}],
                 "was_cancelled": False, "updated_at": "2026-12-02T10:00:00Z"},
                {"id": 10 * k + 3, "result": [], "was_cancelled": True, "updated_at": "2026-12-03T10:00:00Z"}]
        export.append({"id": 100 + k, "data": task["data"], "annotations": anns if k < 10 else []})
    exp = tmp_path / "export.json"
    exp.write_text(json.dumps(export, ensure_ascii=False), encoding="utf-8")
    with pytest.warns(LabelStudioWarning, match="2 of 12 tasks have no annotation"):
        recs = read_label_studio(exp)
    assert recs.multilabel and len(recs) == 10
    assert recs.labels == [gold_of[t["data"]["id"]] for t in tasks[:10]]  # the latest annotation not cancelled
    assert recs.ids == [t["data"]["id"] for t in tasks[:10]]
    # topicclf train reads the export as it is
    model = tmp_path / "from-ls"
    assert main(["train", "--data", str(exp), "--out", str(model), "--min-df", "1", "--cv", "2"]) == 0
    assert "2 of 12 tasks have no annotation" in capsys.readouterr().err
    assert set(topicclf.load(model).labels) <= set(TOPICS)


def test_label_studio_single_label_and_empty_result(tmp_path):
    def task(i, choices):
        return {"id": i, "data": {"text": f"văn bản số {i} về một chủ đề"},
                "annotations": [{"result": [{"type": "choices", "value": {"choices": choices}}], "was_cancelled": False}]}

    one = tmp_path / "single.json"
    one.write_text(json.dumps([task(1, ["sport"]), task(2, ["business"])]), encoding="utf-8")
    recs = load_records(one)
    assert not recs.multilabel and recs.labels == ["sport", "business"] and recs.ids == ["1", "2"]
    multi = tmp_path / "multi.json"
    multi.write_text(json.dumps([task(1, ["sport"]), {"id": 2, "data": {"text": "không có chủ đề nào ở đây"},
                                                       "annotations": [{"result": [], "was_cancelled": False}]}]),
                     encoding="utf-8")
    recs = load_records(multi)
    assert recs.multilabel and recs.labels == [["sport"], []]
    # a plain JSON list of records is still read as a dataset, not as an export
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps([{"text": "a b c d", "label": "x"}, {"text": "e f g h", "label": "y"}]), encoding="utf-8")
    assert load_records(plain).labels == ["x", "y"]


# ---------------------------------------------------------------------------------------------
# compare

def test_paired_bootstrap_detects_a_real_difference_and_not_noise():
    rng = np.random.default_rng(0)
    n, K = 400, 3
    Y = rng.random((n, K)) < 0.3
    PA = Y ^ (rng.random((n, K)) < 0.25)           # A: 25 % of decisions flipped
    PB = PA.copy()
    PB[:, 1] = Y[:, 1] ^ (rng.random(n) < 0.05)    # B: label 1 much better, the rest identical
    r = paired_bootstrap(Y, PA, PB, ["a", "b", "c"], n_boot=300, seed=1)
    assert r["per_label"]["b"]["better"] == "B" and r["per_label"]["b"]["ci95"][0] > 0
    assert r["per_label"]["a"]["better"] is None and r["per_label"]["a"]["diff"] == 0
    assert r["overall"]["macro_f1"]["better"] == "B"
    assert r == paired_bootstrap(Y, PA, PB, ["a", "b", "c"], n_boot=300, seed=1)  # seeded
    same = paired_bootstrap(Y, PA, PA, ["a", "b", "c"], n_boot=100)
    assert all(s["better"] is None and s["ci95"] == [0.0, 0.0] for s in same["per_label"].values())


def test_compare_two_models_report_and_cli(tmp_path, multi, capsys):
    texts, labels = articles(40, seed=21)
    weak_texts, weak_labels = articles(12, seed=3)
    weak = topicclf.train(weak_texts, weak_labels, min_df=1, cv=2, name="multi-weak", languages=["vi", "en"])
    groups = {"half": ["first" if i < 20 else "second" for i in range(40)]}
    r = compare(weak, multi, texts, labels, groups=groups, n_boot=200)
    assert r["a"]["name"] == "multi-weak" and r["b"]["name"] == "multi-a"
    assert set(r["per_label"]) == set(TOPICS) and set(r["groups"]["half"]) == {"first", "second"}
    m = r["overall"]["macro_f1"]
    assert m["ci95"][0] <= m["diff"] <= m["ci95"][1]
    assert "macro-F1" in r["summary"]
    assert len(r["disagreements"]) == min(20, r["disagreement"]["records"])
    gaps = [d["gap"] for d in r["disagreements"]]
    assert gaps == sorted(gaps, reverse=True)
    out = topicclf.write_report(r, tmp_path / "cmp")
    assert {p.name for p in out.iterdir()} >= {"comparison.json", "report.md", "comparison.png"}
    assert "paired bootstrap" in (out / "report.md").read_text(encoding="utf-8")
    # a model against itself: no clear difference anywhere
    same = compare(multi, multi, texts, labels, n_boot=100)
    assert same["summary"].startswith("no clear difference on any label") and same["disagreement"]["records"] == 0
    # the command line
    data = write_jsonl(tmp_path / "test.jsonl", [{"id": f"t{i}", "text": t, "labels": l, "lang": "vi" if i % 2 else "en"}
                                                  for i, (t, l) in enumerate(zip(texts, labels))])
    weak_dir = weak.save(tmp_path / "weak")
    code = main(["evaluate", "--model", str(weak_dir), "--model", str(multi), "--data", str(data),
                 "--report", str(tmp_path / "rep"), "--group-field", "lang", "--bootstrap", "200"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "macro-F1" in printed and "report:" in printed
    saved = json.loads((tmp_path / "rep" / "comparison.json").read_text(encoding="utf-8"))
    assert set(saved["groups"]["lang"]) == {"vi", "en"} and saved["n_boot"] == 200


def test_compare_different_label_sets_names_them(tmp_path, multi, single, capsys):
    texts = [s for v in SENTENCES.values() for s in v]
    other = topicclf.train(texts, [[k if k != "health" else "medicine"] for k, v in SENTENCES.items() for _ in v],
                           min_df=1, cv=2, name="other")
    with pytest.raises(LabelSetError, match=r"only A \(multi-a\) has health; only B \(other\) has medicine"):
        compare(multi, other, texts[:4], [["sport"]] * 4)
    with pytest.raises(LabelSetError, match="multi-label .* single-label"):
        compare(multi, single, texts[:4], [["sport"]] * 4)
    data = write_jsonl(tmp_path / "t.jsonl", [{"text": t, "labels": ["sport"]} for t in texts[:4]])
    other_dir = other.save(tmp_path / "other")
    assert main(["evaluate", "--model", str(multi), "--model", str(other_dir), "--data", str(data),
                 "--report", str(tmp_path / "r")]) == 2
    assert "different label sets" in capsys.readouterr().err


def test_flat_names():
    from topicclf.comparison import compare as compare_fn
    from topicclf.selection import select as select_fn

    assert topicclf.select is select_fn and topicclf.compare is compare_fn


def test_label_studio_export_beside_a_multilabel_file(tmp_path):
    from topicclf.data import load_training_files

    jsonl = write_jsonl(tmp_path / "train.jsonl", [{"text": "bài một về thể thao", "labels": ["sport"]},
                                                   {"text": "bài hai không chủ đề", "labels": []}])
    export = tmp_path / "export.json"
    export.write_text(json.dumps([{"id": 7, "data": {"text": "bài ba về kinh doanh"},
                                   "annotations": [{"result": [{"type": "choices", "value": {"choices": ["business"]}}]}]}]),
                      encoding="utf-8")
    for paths in ([export, jsonl], [jsonl, export]):
        texts, labels, sources = load_training_files(paths)
        assert len(texts) == 3 and [l for l in labels if l == ["business"]] == [["business"]]
        assert [s["path"] for s in sources] == [p.name for p in paths]


def test_select_exclude_passes_over_labelled_articles_and_near_copies(tmp_path, multi, capsys):
    rows = dump_rows(150)
    dump = write_jsonl(tmp_path / "dump.jsonl", rows)
    first = select(dump, model=multi, n=20)
    picked = [r["text"] for r in first.rows]
    # labelled already: half the first selection as a JSONL set, and a near copy of two more
    labelled = write_jsonl(tmp_path / "labelled.jsonl", [{"text": t, "labels": []} for t in picked[:10]])
    near = [t.replace(t.split()[3], "khác", 1) for t in picked[10:12]]  # one word changed
    ls_export = tmp_path / "export.json"
    ls_export.write_text(json.dumps([{"id": k, "data": {"text": t}, "annotations": []} for k, t in enumerate(near)],
                                    ensure_ascii=False), encoding="utf-8")
    again = select(dump, model=multi, n=20, exclude=[labelled, ls_export])
    chosen = {r["text"] for r in again.rows}
    assert not chosen & set(picked[:12])  # neither the labelled nor the near copies' originals
    assert len(again) == 20 and chosen & set(picked[12:])  # the rest of the first choice stays
    ex = again.summary["excluded"]
    assert ex["articles"] == 12 and ex["skipped_exact"] >= 10 and ex["skipped_near"] >= 2
    # without the near-duplicate check only exact copies are excluded
    exact_only = select(dump, model=multi, n=20, exclude=[labelled, ls_export], near_duplicate=None)
    assert not {r["text"] for r in exact_only.rows} & set(picked[:10])
    # the CLI, and a file without the text field
    out = tmp_path / "to_label.jsonl"
    assert main(["select", str(dump), "--model", str(multi), "--n", "20", "--out", str(out),
                 "--exclude", str(labelled), str(ls_export)]) == 0
    assert "excluded: 12 articles" in capsys.readouterr().err
    assert not {json.loads(l)["text"] for l in out.read_text(encoding="utf-8").splitlines()} & set(picked[:12])
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"body": "x"}] * 3)
    with pytest.raises(DataError, match="no article with a 'text' field to exclude"):
        select(dump, model=multi, n=5, exclude=bad)
