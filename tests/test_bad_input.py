"""Text nobody cleaned: every case gets a clear error or a flagged result, never a crash."""

import codecs
import resource
import time

import numpy as np
import pytest

import topicclf
from topicclf.text import DecodeError, normalize, read_text

from conftest import SPORT


@pytest.fixture(scope="module")
def clf(tiny_model):
    return topicclf.load(tiny_model)


@pytest.mark.parametrize("bad", [None, b"bytes", 42, 3.5, ["list"], {"text": "x"}])
def test_non_text_is_a_type_error(clf, bad):
    with pytest.raises(TypeError, match="expected str"):
        clf.predict(["fine text", bad])
    with pytest.raises(TypeError):
        normalize(bad)
    with pytest.raises(TypeError):
        topicclf.tokenize(bad)


@pytest.mark.parametrize("text,flag", [
    ("", "empty"), ("   \t\n  ", "empty"), ("\u200b\u200c\ufeff", "boilerplate_only"),
    ("Audio\nĐiều chỉnh kích thước chữ\nChia sẻ", "boilerplate_only"),
    ("<script>var x = 1;</script><style>p{}</style>", "boilerplate_only"),
    ("12345 67890 !!! ???", "no_text"), ("bóng", "too_short"),
])
def test_empty_and_contentless_texts_are_flagged(clf, text, flag):
    out = clf.classify([text])[0]
    assert out.labels == [] and out.flags == [flag]
    assert all(v == 0 for v in out.scores.values())


@pytest.mark.parametrize("text,lang", [
    ("Le gouvernement français a annoncé une nouvelle réforme des retraites pour les travailleurs", "fr"),
    ("中国政府今天宣布了新的经济政策，以促进国内消费和就业", "zh"),
    ("Правительство объявило о новых мерах поддержки экономики страны", "ru"),
])
def test_other_languages_are_flagged_not_guessed(clf, text, lang):
    out = clf.classify([text])[0]
    assert out.labels == [] and out.lang == lang and out.flags == [f"unsupported_language:{lang}"]


def test_encodings_nfd_and_old_tone_marks_score_the_same(clf):
    text = SPORT[0] + ". Hòa giải và thủy thủ khỏe mạnh."
    variants = [text, codecs.decode(codecs.encode(text, "utf-8"), "utf-8"),
                __import__("unicodedata").normalize("NFD", text),
                text.replace("Hòa", "Hoà").replace("thủy", "thuỷ").replace("khỏe", "khoẻ")]
    P = clf.predict_proba(variants)
    np.testing.assert_allclose(P, np.repeat(P[:1], len(variants), axis=0), atol=1e-9)
    for raw in (text.encode("utf-16"), text.encode("utf-16-le"), text.encode("utf-8-sig")):
        assert normalize(read_text(raw)) == normalize(text)
    with pytest.raises(DecodeError, match="encoding="):
        read_text(bytes(range(128, 256)) * 3)


def test_html_scripts_entities_control_and_emoji(clf):
    page = ("<html><head><script>alert('x')</script></head><body><p>" + SPORT[1] + " &amp; "
            "Hà&nbsp;Nội</p>\x07\x00 😀 \u200b<div>" + SPORT[2] + "</div></body></html>")
    clean = normalize(page)
    assert "alert" not in clean and "&amp;" not in clean and "\x00" not in clean and "\u200b" not in clean
    out = clf.classify([page])[0]
    assert out.labels == ["sport"] and out.lang == "vi"


def test_mixed_vietnamese_english(clf):
    # a Vietnamese article quoting English: the majority language decides the gate, and the
    # English words simply add features (unknown ones are ignored)
    mixed = ". ".join(SPORT[:4]) + '. "We played well tonight," the coach said.'
    out = clf.classify([mixed])[0]
    assert out.lang == "vi" and out.labels == ["sport"]
    english_only = clf.classify(['"We played well tonight and the fans were great," the coach said after the match.'])[0]
    assert english_only.flags == ["unsupported_language:en"]


def test_ten_megabyte_document_is_truncated_with_a_flag(clf):
    huge = (SPORT[3] + "\n") * (10_000_000 // (len(SPORT[3]) + 1))
    assert len(huge) > 9_000_000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.process_time()
    out = clf.classify([huge])[0]
    # a bound on work, not a timing assertion: cutting to max_chars must keep it far from quadratic
    assert time.process_time() - t0 < 60
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 500_000  # KiB
    assert out.flags == ["truncated"] and out.labels == ["sport"]


def test_one_bad_record_does_not_sink_the_batch(tmp_path, tiny_model):
    import json

    dump = tmp_path / "d.jsonl"
    dump.write_text("\n".join([json.dumps({"id": "a", "text": SPORT[0]}), "{not json",
                               json.dumps({"id": "b", "text": None}), json.dumps([1, 2]),
                               json.dumps({"id": "c", "text": ""}), json.dumps({"id": "d", "text": SPORT[1]})]) + "\n")
    out = tmp_path / "o.jsonl"
    topicclf.score_file(dump, out, model=str(tiny_model), progress=False)
    rows = [json.loads(l) for l in out.read_text().splitlines()]
    rejects = [json.loads(l) for l in (tmp_path / "o.jsonl.rejects.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ["a", "c", "d"]
    assert rows[1]["flags"] == ["empty"] and rows[2]["labels"] == ["sport"]
    assert len(rejects) == 3 and all(r["reason"] for r in rejects)
