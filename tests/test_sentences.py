"""The sentence splitter behind evidence sentences."""

from topicclf.sentences import split_sentences


def test_title_line_and_line_breaks():
    text = "Giá vàng tăng mạnh? Chuyên gia nói gì\n\nSáng nay giá vàng tăng. Người mua đổ xô đi mua\nDòng cuối cùng ở đây"
    assert split_sentences(text) == ["Giá vàng tăng mạnh? Chuyên gia nói gì", "Sáng nay giá vàng tăng.",
                                     "Người mua đổ xô đi mua", "Dòng cuối cùng ở đây"]


def test_boundaries_need_a_capital_digit_or_quote_after():
    assert split_sentences("Tỷ số là 2-0. Đội khách thua đậm. 3 cầu thủ bị treo giò. \"Chúng tôi buồn\" anh nói.") == [
        "Tỷ số là 2-0.", "Đội khách thua đậm.", "3 cầu thủ bị treo giò.", "\"Chúng tôi buồn\" anh nói."]
    # lower case after a period, a decimal number, an ellipsis inside a sentence: no split
    assert split_sentences("Lạm phát ở mức 3.5 phần trăm. và còn tăng nữa") == [
        "Lạm phát ở mức 3.5 phần trăm. và còn tăng nữa"]
    assert split_sentences("Ông ấy chờ… rồi đi về nhà. Đêm đó trời mưa to") == [
        "Ông ấy chờ… rồi đi về nhà.", "Đêm đó trời mưa to"]


def test_abbreviations_and_initials_do_not_end_a_sentence():
    assert split_sentences("Mr. Smith met Dr. Jones in the U.S. Army base. J. K. Rowling was not there at all.") == [
        "Mr. Smith met Dr. Jones in the U.S. Army base.", "J. K. Rowling was not there at all."]
    assert split_sentences("Người dân TP. HCM đón mưa lớn. GS. Nguyễn Văn A cho biết thêm.") == [
        "Người dân TP. HCM đón mưa lớn.", "GS. Nguyễn Văn A cho biết thêm."]


def test_short_fragments_and_repeats_are_left_out():
    assert split_sentences("Xem thêm. Hết. Trận đấu kết thúc với tỷ số hòa. Trận đấu kết thúc với tỷ số hòa.") == [
        "Trận đấu kết thúc với tỷ số hòa."]
    assert split_sentences("") == [] and split_sentences("one two") == []
    assert split_sentences("one two", min_words=1) == ["one two"]
