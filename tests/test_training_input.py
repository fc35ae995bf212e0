"""Training input validation and reproducibility."""

import json

import numpy as np
import pytest

import topicclf
from topicclf.data import DataError, load_records, validate

from conftest import BUSINESS, SPORT


def write(tmp_path, rows, name="d.jsonl"):
    p = tmp_path / name
    p.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return p


def test_unknown_label_against_declared_list(tmp_path):
    p = write(tmp_path, [{"id": "1", "text": "a b c", "labels": ["religion"]},
                         {"id": "2", "text": "d e f", "labels": ["relgion"]}])
    with pytest.raises(DataError, match=r"record 1 \(id '2'\): unknown label 'relgion'"):
        load_records(p, labels=["religion", "democracy"])


def test_duplicate_ids_empty_texts_and_mixed_types_name_records():
    with pytest.raises(DataError, match=r"record 2 \(id 'a'\): duplicate id \(also record 0\)"):
        validate(["x y", "y z", "z w"], ["s", "t", "s"], ["a", "b", "a"])
    with pytest.raises(DataError, match=r"record 1 \(id 'b'\): empty text"):
        validate(["x y", "  "], ["s", "t"], ["a", "b"])
    with pytest.raises(DataError, match="mixes lists and strings"):
        validate(["x y", "y z"], [["s"], "t"], ["a", "b"])
    with pytest.raises(DataError, match="only one class"):
        validate(["x y", "y z"], ["s", "s"], ["a", "b"])
    with pytest.raises(DataError, match="text is int"):
        validate(["x y", 5], ["s", "t"], ["a", "b"])


def test_missing_field_and_unknown_format(tmp_path):
    p = write(tmp_path, [{"id": "1", "body": "a b c", "label": "x"}])
    with pytest.raises(DataError, match="no field 'text'.*--text-field"):
        load_records(p)
    bad = tmp_path / "data.xlsx"
    bad.write_bytes(b"PK")
    with pytest.raises(DataError, match="unknown data format"):
        load_records(bad)


def test_csv_and_parquet_inputs(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [{"id": str(i), "text": t, "label": l} for i, (t, l) in
            enumerate(zip(SPORT + BUSINESS, ["sport"] * 6 + ["business"] * 6))]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "d.parquet")
    recs = load_records(tmp_path / "d.parquet")
    assert len(recs) == 12 and not recs.multilabel and recs.label_set() == ["business", "sport"]
    import csv

    with open(tmp_path / "d.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["id", "text", "label"])
        w.writeheader()
        w.writerows(rows)
    assert load_records(tmp_path / "d.csv").texts == recs.texts


def test_training_twice_gives_identical_weights(tmp_path):
    texts = (SPORT + BUSINESS) * 2
    labels = (["sport"] * 6 + ["business"] * 6) * 2
    a = topicclf.train(texts, labels, min_df=1, cv=2, seed=7)
    b = topicclf.train(texts, labels, min_df=1, cv=2, seed=7)
    np.testing.assert_array_equal(a.estimator.coef_, b.estimator.coef_)
    a.save(tmp_path / "a")
    b.save(tmp_path / "b")
    assert (tmp_path / "a" / "weights.safetensors").read_bytes() == (tmp_path / "b" / "weights.safetensors").read_bytes()
    cfg = json.loads((tmp_path / "a" / "config.json").read_text())
    assert cfg["seed"] == 7 and "numpy" in cfg["versions"]


def test_train_file_records_data_hash(tmp_path):
    from topicclf.data import file_digest

    p = write(tmp_path, [{"id": str(i), "text": t, "labels": l} for i, (t, l) in
                         enumerate(zip(SPORT + BUSINESS, [["sport"]] * 6 + [["business"]] * 6))])
    clf = topicclf.train_file(p, tmp_path / "m", min_df=1, cv=2)
    cfg = json.loads((tmp_path / "m" / "config.json").read_text())
    assert cfg["training"]["data"][0]["sha256"] == file_digest(p) and clf.multilabel
