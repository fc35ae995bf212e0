"""Shared fixtures: offline settings, one torch thread, small labeled sets, the data root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("OMP_NUM_THREADS", "1")

try:  # two torch threads stall on the CI machines
    import torch

    torch.set_num_threads(1)
except ImportError:
    pass

REPO = Path(__file__).resolve().parents[1]

# One hypothesis profile for the whole run; `make fuzz` (TOPICCLF_FUZZ=1) asks for many more examples.
from hypothesis import settings as _hsettings  # noqa: E402

_hsettings.register_profile("topicclf", max_examples=100, deadline=None)
_hsettings.register_profile("fuzz", max_examples=2000, deadline=None)
_hsettings.load_profile("fuzz" if os.environ.get("TOPICCLF_FUZZ") == "1" else "topicclf")


def _data_root() -> Path | None:
    env = os.environ.get("TOPICCLF_DATA")
    for c in ([Path(env)] if env else []) + [REPO.parent / "shared" / "data"]:
        if c.is_dir():
            return c
    return None


DATA = _data_root()
NO_DATA = "needs ../shared/data (or $TOPICCLF_DATA): the labeled corpora are not in the repository, see data/README.md"


def shared_records(relative: str, limit: int | None = None) -> list[dict]:
    """The first ``limit`` JSON records of a file under the shared data root; skips without it."""
    import gzip
    import json
    from itertools import islice

    path = DATA / relative if DATA is not None else None
    if path is None or not path.exists():
        pytest.skip(f"{NO_DATA} (missing: {relative})")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in islice(fh, limit)]


@pytest.fixture
def data_root() -> Path:
    if DATA is None:
        pytest.skip(NO_DATA)
    return DATA


# Small hand-written labeled sets (our own sentences, not news text).
SPORT = [
    "Đội tuyển bóng đá Việt Nam thắng hai bàn trong trận chung kết tối qua",
    "Cầu thủ trẻ ghi bàn thắng quyết định ở phút cuối trận đấu",
    "Huấn luyện viên công bố danh sách cầu thủ dự giải vô địch",
    "Vận động viên điền kinh giành huy chương vàng tại đại hội thể thao",
    "Câu lạc bộ bóng đá Hà Nội chiêu mộ tiền đạo mới cho mùa giải",
    "Trận đấu quần vợt kéo dài ba giờ với chiến thắng cho tay vợt trẻ",
]
BUSINESS = [
    "Giá vàng trong nước tăng mạnh theo đà tăng của thị trường thế giới",
    "Ngân hàng nhà nước điều chỉnh lãi suất điều hành từ tháng sau",
    "Doanh nghiệp xuất khẩu gạo báo lãi lớn trong quý ba",
    "Thị trường chứng khoán giảm điểm phiên thứ ba liên tiếp",
    "Công ty công nghệ huy động vốn đầu tư để mở rộng sản xuất",
    "Giá xăng dầu giảm nhẹ sau kỳ điều chỉnh của liên bộ tài chính công thương",
]
ENGLISH = [
    "The national team won the final match with two late goals",
    "Gold prices rose sharply as investors sought safety in markets",
]


@pytest.fixture(scope="session")
def tiny_sets():
    texts = SPORT + BUSINESS
    labels = ["sport"] * len(SPORT) + ["business"] * len(BUSINESS)
    return texts, labels


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, tiny_sets):
    import topicclf

    texts, labels = tiny_sets
    clf = topicclf.train(texts * 2, labels * 2, min_df=1, cv=2, name="tiny", languages=["vi"])
    path = tmp_path_factory.mktemp("models") / "tiny"
    clf.save(path)
    return path


def build_tiny_bert(folder: Path, corpus: list[str], model_max_length: int = 64) -> Path:
    """A 2-layer BERT (hidden 32) and a WordPiece tokenizer over ``corpus``'s words, saved to
    ``folder`` as a Hugging Face checkpoint. No download; identical in every process (the
    vocabulary is built in sorted order: WordPieceTrainer breaks ties in hash-map order)."""
    import torch
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    norm = normalizers.BertNormalizer(lowercase=True, strip_accents=False)
    pre = pre_tokenizers.BertPreTokenizer()
    words = sorted({w for s in corpus for w, _ in pre.pre_tokenize_str(norm.normalize_str(s))})
    chars = sorted({c for w in words for c in w})
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    entries = list(dict.fromkeys(specials + chars + ["##" + c for c in chars] + words))
    tok = Tokenizer(models.WordPiece(vocab={t: i for i, t in enumerate(entries)}, unk_token="[UNK]"))
    tok.normalizer, tok.pre_tokenizer, tok.decoder = norm, pre, decoders.WordPiece()
    tok.post_processor = processors.BertProcessing(("[SEP]", tok.token_to_id("[SEP]")),
                                                   ("[CLS]", tok.token_to_id("[CLS]")))
    PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                            sep_token="[SEP]", mask_token="[MASK]",
                            model_max_length=model_max_length).save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=tok.get_vocab_size(), hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=64,
                        pad_token_id=tok.token_to_id("[PAD]"))
    BertModel(config).save_pretrained(folder)
    return folder
