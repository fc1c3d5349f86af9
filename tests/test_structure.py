"""model/structure.py: page furniture (captions, bylines, subheadings, related links, image
file names) is recognised and never becomes a draft sentence; a lead's dateline is left out."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.baseline import make_summary
from model.structure import BODY, BYLINE, CAPTION, FILENAME, HEADING, RELATED, line_kinds, strip_dateline
from model.summary import SummaryParams
from model.text import split_sentences

LEAD = "(NTO) Ngày 26-9, đoàn kiểm tra đã làm việc với Đảng ủy Khối các cơ quan tỉnh về công tác xây dựng Đảng."
BODY_1 = "Theo báo cáo, các cấp ủy đã quán triệt nghị quyết và ban hành chương trình hành động cụ thể cho từng đơn vị."
BODY_2 = "Kết luận buổi làm việc, đoàn đề nghị các chi bộ tiếp tục tổ chức học tập thường xuyên, gắn với nhiệm vụ chính trị."
PAGE = "\n".join([
    LEAD, "",
    "Đồng chí Hà Ngọc Anh, Phó Trưởng đoàn kiểm tra",
    "phát biểu tại buổi làm việc. Ảnh: Thanh Xuân", "",
    BODY_1, "",
    "Những việc còn tồn tại", "",
    BODY_2, "",
    "Xem thêm:",
    "Đoàn kiểm tra làm việc tại huyện Ninh Hải", "",
    "anh-doan-kiem-tra.jpg",
    "Thanh Xuân",
])


def test_each_kind_of_furniture_is_recognised():
    kinds = dict(zip(PAGE.split("\n"), line_kinds(PAGE)))
    assert kinds[LEAD] == BODY and kinds[BODY_1] == BODY and kinds[BODY_2] == BODY
    assert kinds["Đồng chí Hà Ngọc Anh, Phó Trưởng đoàn kiểm tra"] == CAPTION  # a caption broken over two lines
    assert kinds["phát biểu tại buổi làm việc. Ảnh: Thanh Xuân"] == CAPTION
    assert kinds["Những việc còn tồn tại"] == HEADING
    assert kinds["Xem thêm:"] == RELATED and kinds["Đoàn kiểm tra làm việc tại huyện Ninh Hải"] == RELATED
    assert kinds["anh-doan-kiem-tra.jpg"] == FILENAME
    assert kinds["Thanh Xuân"] == BYLINE


@pytest.mark.parametrize("line", ["Ảnh minh họa", "(Ảnh: TTXVN)", "Người dân xếp hàng chờ tiêm vắc xin (Ảnh: Hữu Khoa).",
                                  "Hiện trường vụ tai nạn - Ảnh: Quang Định", "Toàn cảnh hội nghị. Nguồn: VGP"])
def test_captions_end_with_a_credit(line):
    assert line_kinds(f"{BODY_1}\n{line}\n{BODY_2}")[1] == CAPTION


def test_body_text_that_cites_a_source_is_not_a_caption():
    long = " ".join([BODY_1] * 4) + " Nguồn: Tổng cục Thống kê."
    assert line_kinds(f"{long}\n{BODY_2}")[0] == BODY


def test_a_one_paragraph_input_has_no_furniture():
    assert line_kinds("Giá vàng hôm nay tăng mạnh") == [BODY]  # a feed item without final punctuation
    assert line_kinds(BODY_1) == [BODY]


@pytest.mark.parametrize("sentence, expected", [
    (LEAD, "Ngày 26-9, đoàn kiểm tra đã làm việc với Đảng ủy Khối các cơ quan tỉnh về công tác xây dựng Đảng."),
    ("(Dân trí) - Sáng nay, Quốc hội họp.", "Sáng nay, Quốc hội họp."),
    ("HÀ NỘI - Mưa lớn gây ngập nhiều tuyến phố.", "Mưa lớn gây ngập nhiều tuyến phố."),
    ("TP HCM – giá xăng giảm.", "Giá xăng giảm."),
    ("Sáng nay, Quốc hội họp.", "Sáng nay, Quốc hội họp."),
    ("(NTO)", "(NTO)"),  # nothing would be left
])
def test_dateline_is_left_out_of_the_lead(sentence, expected):
    assert strip_dateline(sentence) == expected


@pytest.mark.parametrize("line", ["*Ghi bàn: Công Phượng 11', Lưu Tự Nhân 24'.", "* Ghi bàn: Seksan 60’ – Bounphachan 69’.",
                                  "Dự đoán: Man City 2-2 Nottingham Forest.", "Đội hình xuất phát:", "Thẻ đỏ: Smalling (105')",
                                  "Trọng tài: Pierluigi Collina (Italy)", "*Tên bệnh nhân đã được thay đổi",
                                  "(Tên nhân vật được thay đổi theo yêu cầu)", "* Tên các nhân vật đã thay đổi"])
def test_match_boxes_and_editors_notes_are_furniture(line):
    from model.structure import BOX

    assert line_kinds(f"{BODY_1}\n{line}\n{BODY_2}")[1] == BOX


@pytest.mark.parametrize("line", ["Dự đoán của giới phân tích là giá vàng sẽ còn tăng trong tuần tới.",
                                  "Đội hình của Việt Nam trong trận này có nhiều gương mặt mới.",
                                  "Tên của dự án đã được thay đổi nhiều lần."])
def test_body_sentences_that_start_like_a_box_stay_body(line):
    assert line_kinds(f"{BODY_1}\n{line}\n{BODY_2}")[1] == BODY


def test_a_match_box_is_never_the_draft():
    from model.structure import furniture_mask

    page = "*Ghi bàn: Gerson 62' - Valverde 55'.\n" + BODY_1 + "\n" + BODY_2
    sentences = split_sentences(page)
    furniture = furniture_mask(page, sentences)
    summary = make_summary(sentences, np.where(furniture, 10.0, 0.0), SummaryParams(), furniture)
    assert furniture[0] and "Ghi bàn" not in summary.text


def test_the_draft_never_takes_furniture_and_drops_the_dateline():
    sentences = split_sentences(PAGE)
    from model.structure import furniture_mask

    furniture = furniture_mask(PAGE, sentences)
    scores = np.where(furniture, 10.0, 0.0)  # a scorer that would love the furniture
    scores[0] = 1.0
    summary = make_summary(sentences, scores, SummaryParams(max_words=60, max_sentences=3), furniture)
    assert set(summary.sentences) <= {i for i, f in enumerate(furniture) if not f}
    assert summary.text.startswith("Ngày 26-9,") and "Ảnh" not in summary.text and "(NTO)" not in summary.text
    # An input that is all furniture-like keeps its sentences: the draft is never empty for it.
    only = split_sentences("Những việc còn tồn tại")
    assert make_summary(only, np.zeros(1), SummaryParams(), np.ones(1, bool)).sentences == [0]


def test_pieces_of_a_quote_are_never_the_draft():
    from model.structure import draft_exclusions, quote_fragments

    text = ('Ông A phát biểu tại hội nghị tỉnh. "Tất cả đều hướng đến trẻ em. Nhà tù là nơi không phù hợp", ông nói.\n'
            'Bà B nói: “Tôi vui. Rất vui”. Sau đó bà về nhà.\n'
            'Một dòng lệch "chỉ có một dấu. Câu sau vẫn là thân bài.\n'
            'Ông C nói: "Đây là một câu trọn vẹn." Rồi ông đi.')
    sentences = split_sentences(text)
    pieces = dict(zip((s.text for s in sentences), quote_fragments(text, sentences)))
    assert pieces == {"Ông A phát biểu tại hội nghị tỉnh.": False, '"Tất cả đều hướng đến trẻ em.': True,
                      'Nhà tù là nơi không phù hợp", ông nói.': True, "Bà B nói: “Tôi vui.": True, "Rất vui”.": True,
                      "Sau đó bà về nhà.": False,
                      'Một dòng lệch "chỉ có một dấu.': False, "Câu sau vẫn là thân bài.": False,  # unbalanced: left alone
                      'Ông C nói: "Đây là một câu trọn vẹn."': False, "Rồi ông đi.": False}
    excluded = draft_exclusions(text, sentences)
    summary = make_summary(sentences, np.where(excluded, 10.0, 0.0), SummaryParams(max_words=60), excluded)
    assert summary.sentences and not excluded[summary.sentences].any()
    assert "Tất cả" not in summary.text and "Rất vui”" not in summary.text


def _quote_fragments_by_prefix(text, sentences):
    """The rule written plainly (quadratic: each sentence re-counts its paragraph so far)."""
    paragraphs = text.split("\n")
    starts = np.cumsum([0] + [len(p) + 1 for p in paragraphs])
    out = []
    for s in sentences:
        p = paragraphs[s.paragraph]
        if p.count("“") != p.count("”") or p.count('"') % 2:
            out.append(False)
            continue
        def open_(before):
            return before.count("“") > before.count("”") or before.count('"') % 2 == 1
        base = int(starts[s.paragraph])
        out.append(open_(p[: s.start - base]) or open_(p[: s.end - base]))
    return np.array(out, dtype=bool)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["Ông nói", "“", "”", '"', ". ", "? ", "\n", "\n\n", " ", "Bà B", "vui", ".”", '."', ", ông nói. "]),
                max_size=40).map("".join))
def test_quote_fragments_follow_the_rule_in_one_pass(text):
    from model.structure import quote_fragments

    sentences = split_sentences(text)
    np.testing.assert_array_equal(quote_fragments(text, sentences), _quote_fragments_by_prefix(text, sentences))


def test_quote_fragments_of_a_full_size_paragraph_take_one_pass():
    import time

    from model.structure import quote_fragments

    text = 'Câu "một. Hai" ba. ' * 20_000  # one paragraph of 40,000 sentences; re-counting it took minutes
    sentences = split_sentences(text)
    start = time.perf_counter()
    flags = quote_fragments(text, sentences)
    assert time.perf_counter() - start < 5.0  # about 0.06 s in one pass
    assert flags.all() and len(flags) == 40_000


def test_a_long_run_of_capitals_on_the_last_line_is_read_in_linear_time():
    """The byline pattern could cut such a run into five name words in O(n^4) ways (found by
    tests/test_fuzz.py): a 30,000-character last line took longer than CI waits."""
    import time

    for tail in ("Á" * 30_000 + "x1", "AB" * 15_000 + "1", "A" * 30_000 + " (x"):
        start = time.perf_counter()
        line_kinds(f"{BODY_1}\n{BODY_2}\n{tail}")
        assert time.perf_counter() - start < 5.0  # about 3 ms; it was hours
    assert line_kinds(f"{BODY_1}\n{BODY_2}\nNGUYỄN VĂN AN")[2] == BYLINE


SEED = Path(__file__).resolve().parents[2] / "shared" / "examples" / "seed_article_ninhthuan.txt"


@pytest.mark.skipif(not SEED.is_file(), reason="the shared seed article is not here")
def test_seed_article_draft_is_the_lead_without_caption_or_dateline(predictor):
    text = SEED.read_text(encoding="utf-8")
    result = predictor.predict(text)
    lead = text.split("\n\n")[1]
    assert "Ảnh:" not in result.summary.text and "Thanh Xuân" not in result.summary.text
    first = result.summary.text.split(". ")[0]
    assert first[:40] in lead and not result.summary.text.startswith("(NTO)")


def test_a_lead_opened_by_its_dateline_is_the_draft_within_the_budget():
    from model.baseline import lead_sentences

    lead = "(Dân trí) - Sáng 5/3, Quốc hội khai mạc kỳ họp. Các đại biểu thảo luận luật đất đai. Kỳ họp kéo dài 20 ngày."
    text = f"{lead}\n{BODY_1}\n{BODY_2}"
    sentences = split_sentences(text)
    scores = np.array([0.0, 0.0, 0.0, 5.0, 5.0])  # the scorer prefers the body
    summary = make_summary(sentences, scores, SummaryParams(max_words=20, max_sentences=3), np.zeros(5, bool))
    assert summary.sentences == [0, 1]  # the lead's first sentences within 20 words
    assert summary.text.startswith("Sáng 5/3, Quốc hội khai mạc kỳ họp.")
    assert lead_sentences(sentences, 0, SummaryParams(max_words=5)) == [0]  # always at least one
    # Without a dateline the scorer chooses, as before.
    plain = split_sentences(f"Sáng 5/3, Quốc hội khai mạc kỳ họp.\n{BODY_1}\n{BODY_2}")
    assert make_summary(plain, np.array([0.0, 5.0, 5.0]), SummaryParams(max_words=50, max_sentences=2),
                        np.zeros(3, bool)).sentences == [1, 2]


def test_a_long_subheading_is_still_a_subheading():
    heading = "Học bổng toàn phần Đại học Bắc Kinh với ước mơ làm giảng viên đại học ở quê nhà"  # 18 words
    assert line_kinds(f"{BODY_1}\n{heading}\n{BODY_2}")[1] == HEADING
    assert line_kinds(f"{BODY_1}\n{heading} {heading}\n{BODY_2}")[1] == BODY  # too long for a subheading


def test_a_sentence_said_again_is_never_drafted_twice():
    # Photo galleries print each caption twice (alt text and caption): a real 2024 page.
    from model.structure import draft_exclusions, repeated_sentences

    caption = "Trên trang cá nhân ba ngày trước, Messi đăng ảnh gặp gỡ fan nhí ở Mỹ, hút gần hai triệu lượt thích."
    text = f"{caption}\n{caption.upper()}\nMessi chọn phong cách đơn giản với áo thun trơn.\n{caption}"
    sentences = split_sentences(text)
    assert repeated_sentences(sentences).tolist() == [False, True, False, True]
    excluded = draft_exclusions(text, sentences)
    summary = make_summary(sentences, np.where(excluded, 10.0, 1.0), SummaryParams(max_words=60), excluded)
    assert summary.text.lower().count("trên trang cá nhân") == 1


def test_with_complete_announcements_no_draft_sentence_announces_what_is_not_there():
    text = ("Giá vàng hôm nay tăng mạnh ở cả hai chiều mua bán. Giá cụ thể như sau:\n"
            "Vàng miếng SJC mua vào 85 triệu đồng, bán ra 87 triệu đồng.\n"
            "Các chuyên gia dự báo giá còn biến động trong tuần tới.")
    sentences = split_sentences(text)
    scores = np.array([3.0, 2.0, -5.0, 1.0])  # the announcement scores high, what it announces low
    assert make_summary(sentences, scores, SummaryParams(max_words=25, max_sentences=2)).sentences == [0, 1]  # off
    draft = make_summary(sentences, scores, SummaryParams(max_words=25, max_sentences=2, complete_announcements=True))
    assert not draft.text.rstrip().endswith(":") and draft.sentences == [0, 3]
    # with room for what follows, the announcement keeps it
    roomy = make_summary(sentences, scores, SummaryParams(max_words=60, max_sentences=4, complete_announcements=True))
    assert roomy.sentences == [0, 1, 2, 3]
    # ... and without it, never: not at the end, nor in the middle
    middle = make_summary(sentences, scores, SummaryParams(max_words=60, max_sentences=3, complete_announcements=True))
    assert middle.sentences == [0, 2, 3]
    # a page of nothing but announcements still gets a draft, quickly
    many = split_sentences("\n".join(f"Mục {i} gồm:" for i in range(5000)))
    assert make_summary(many, np.ones(len(many)), SummaryParams(complete_announcements=True)).sentences


@pytest.mark.parametrize("line", ['Nuôi "con thoát nghèo"', "Bà Trương Mỹ Lan: 'Tài sản kê biên đủ khắc phục vụ án'",
                                  "Điều hành chính sách tiền tệ ‘có thời điểm rất căn cơ’"])
def test_a_short_line_ending_in_a_quoted_word_is_a_subheading(line):
    # Read in 2024 pages: subheadings and related-article titles that end in a quote were body
    # text, and opened or closed drafts.
    assert line_kinds(f"{BODY_1}\n{line}\n{BODY_2}")[1] == HEADING


@pytest.mark.parametrize("line", ['Ông nói: "Tôi sẽ trở lại."', "Bà hỏi: “Vì sao lại thế?”", 'Anh kể: "Tôi đã đi…"'])
def test_a_line_whose_quote_ends_a_sentence_stays_body(line):
    assert line_kinds(f"{BODY_1}\n{line}\n{BODY_2}")[1] == BODY


PARAGRAPHS = [f"{BODY_1} {BODY_2}"] * 4  # a page laid out in paragraphs of two sentences


def _on_a_page(line: str) -> str:
    return "\n".join([PARAGRAPHS[0], line, *PARAGRAPHS[1:]])


@pytest.mark.parametrize("line", ["Vì sao pin sạc dự phòng lại có thể phát nổ?", "Chế độ ăn uống giúp giảm cân của Minh San có gì?",
                                  "- Cuộc sống của anh ở New Zealand những năm qua thế nào?",
                                  "– Vì sao chị chọn quay về sau " + "rất nhiều năm " * 10 + "sống ở nước ngoài?"])
def test_a_line_that_only_asks_is_a_subheading_on_a_page_of_paragraphs(line):
    # Read in 2024 pages: question subheadings and interviewers' questions were 41 of 1,000 drafts.
    assert line_kinds(_on_a_page(line))[1] == HEADING
    # In a text of one sentence a line (VietNews' bodies) a line is a sentence: it stays body.
    assert line_kinds(f"{BODY_1}\n{line}\n{BODY_2}")[1] == BODY


@pytest.mark.parametrize("line", ["Kết phim không thỏa đáng? Tối 20/11, tập cuối của phim đã lên sóng.",
                                  "Bà hỏi: “Vì sao lại thế?”", "Vì sao " + "giá vàng lại tăng mạnh " * 5 + "như vậy?"])
def test_a_question_that_says_more_or_runs_long_stays_body(line):
    assert line_kinds(_on_a_page(line))[1] == BODY


def test_a_question_opening_the_body_is_not_taken_for_a_subheading():
    assert line_kinds("\n".join(["Vì sao pin sạc dự phòng lại có thể phát nổ?", *PARAGRAPHS]))[0] == BODY


def _paragraphs(*sentences_per_paragraph: int) -> str:
    return "\n".join(" ".join(f"Câu số {p} {k} của bài viết nói về một việc." for k in range(n))
                     for p, n in enumerate(sentences_per_paragraph))


def test_a_page_is_laid_out_in_paragraphs_only_when_several_paragraphs_hold_sentences():
    from model.structure import laid_out_in_paragraphs

    assert laid_out_in_paragraphs(split_sentences(_paragraphs(2, 3, 2, 2, 1)))
    assert not laid_out_in_paragraphs(split_sentences(_paragraphs(2, 1, 1, 1, 1, 1)))  # one sentence a line
    assert not laid_out_in_paragraphs(split_sentences(_paragraphs(3, 2, 2)))  # two paragraphs after the lead
    assert not laid_out_in_paragraphs(split_sentences(_paragraphs(1, 2, 2, 2, *[1] * 20)))  # under a fifth
    assert not laid_out_in_paragraphs([])


SAPO = "Thị trường chứng khoán hồi phục tốt trong phiên sáng nay. VN-Index tăng 9 điểm lên 1.261 điểm."
BODY_PARAGRAPHS = [
    "Cổ phiếu ngành ô tô gây chú ý khi phần lớn tăng tốt. Cổ phiếu HAX tăng kịch trần.",
    "Diễn biến tích cực xuất hiện sau văn bản về lệ phí trước bạ. Thủ tướng đã họp về việc này.",
    "Nhóm ngân hàng phân hóa trong phiên. Thanh khoản toàn thị trường đạt 8.000 tỷ đồng.",
]


def test_on_a_page_laid_out_in_paragraphs_the_draft_is_its_lead():
    sentences = split_sentences("\n".join([SAPO, *BODY_PARAGRAPHS]))
    scores = np.array([0.0, 0.0, 5.0, 5.0, 4.0, 4.0, 3.0, 3.0])  # the scorer prefers the body
    params = SummaryParams(max_words=40, max_sentences=3)
    assert make_summary(sentences, scores, params, np.zeros(8, bool)).sentences == [0, 1]
    # Off, or on a text laid out one sentence a line, the scorer chooses.
    off = SummaryParams(max_words=40, max_sentences=3, follow_lead=False)
    assert make_summary(sentences, scores, off, np.zeros(8, bool)).sentences == [2, 3, 4]
    lines = split_sentences("\n".join(s.text for s in sentences))
    assert make_summary(lines, scores, params, np.zeros(8, bool)).sentences == [2, 3, 4]


@pytest.mark.parametrize("opening", ["Kết phim không thỏa đáng?", "Trả lời:", "Collagen là gì?"])
def test_a_leads_question_or_announcement_is_left_out_of_the_draft(opening):
    # Read in 2024 pages: a sapo opening on a teaser question, and Q&A pages whose body opens
    # on "Trả lời:" or a question subheading.
    # (On one line "Trả lời: Thị trường …" is one sentence; on a page it stands on its own line.)
    for text in ([f"{opening}\n{SAPO}"] if opening.endswith(":") else [f"{opening} {SAPO}", f"{opening}\n{SAPO}"]):
        sentences = split_sentences("\n".join([text, *BODY_PARAGRAPHS]))
        draft = make_summary(sentences, np.zeros(len(sentences)), SummaryParams(), np.zeros(len(sentences), bool))
        assert draft.text.startswith("Thị trường") and "?" not in draft.text and ":" not in draft.text


def test_summary_params_refuse_a_follow_lead_that_is_not_true_or_false():
    with pytest.raises(ValueError, match="follow_lead"):
        SummaryParams(follow_lead="yes")


def test_the_draft_is_shown_without_spaces_before_punctuation():
    lead = "Tác phẩm phát hành trong tháng 10, gồm ba phần: Mây trôi về nam , Cơm thừa Như Lai , Một trong muôn một ."
    sentences = split_sentences(lead + "\n" + BODY_1 + "\n" + BODY_2)
    scores = np.r_[10.0, np.zeros(len(sentences) - 1)]
    summary = make_summary(sentences, scores, SummaryParams(max_words=60))
    assert summary.sentences[0] == 0
    assert "Mây trôi về nam, Cơm thừa Như Lai, Một trong muôn một." in summary.text
    assert " ," not in summary.text and " ." not in summary.text
