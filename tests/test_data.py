"""training/data.py: reading and validating labelled records (JSONL, JSONL.gz, CSV)."""
from __future__ import annotations

import csv
import gzip
import hashlib
import json
import unicodedata
from pathlib import Path

import pytest

from training.data import DataValidationError, Problem, Record, read_many, read_records


def write_jsonl(path: Path, rows: list) -> Path:
    """Rows are dicts (dumped as JSON) or raw strings (written as they are)."""
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows]
    data = ("\n".join(lines) + "\n").encode("utf-8")
    if path.name.endswith(".gz"):
        with gzip.open(path, "wb") as handle:
            handle.write(data)
    else:
        path.write_bytes(data)
    return path


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def problems_of(path: Path) -> list[Problem]:
    with pytest.raises(DataValidationError) as info:
        read_records(path)
    return info.value.problems


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


VALID = [
    {"id": "a", "title": "Bóng đá", "text": "Đội tuyển thắng.", "type": "Thể thao", "tags": ["bóng đá"]},
    {"id": "b", "text": "Giá vàng tăng.", "topics": ["Kinh tế", "Chứng khoán"], "type": None},
    {"text": "Bài có tóm tắt.\nĐoạn hai.", "summary": "Tóm tắt."},
]


# --- valid files -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["data.jsonl", "data.jsonl.gz", "data.json.gz"])
def test_read_valid_jsonl(tmp_path, name):
    path = write_jsonl(tmp_path / name, VALID)
    records = read_records(path)
    assert [r.id for r in records] == ["a", "b", f"{name}:3"]  # a missing id becomes file:line
    a, b, c = records
    assert a == Record(id="a", text="Đội tuyển thắng.", title="Bóng đá", type="Thể thao", tags=("bóng đá",))
    assert b.type is None and b.topics == ("Kinh tế", "Chứng khoán") and b.summary is None
    assert c.summary == "Tóm tắt." and c.text == "Bài có tóm tắt.\nĐoạn hai."
    assert c.topics is None  # null / absent means "not labelled"


def test_blank_lines_are_skipped_but_counted(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [{"text": "Một."}, "", "   ", {"text": "Hai."}])
    assert [r.id for r in read_records(path)] == ["d.jsonl:1", "d.jsonl:4"]


@pytest.mark.parametrize(
    "cell",
    ["Kinh tế|Xã hội", " Kinh tế | Xã hội |", '["Kinh tế", "Xã hội"]'],
    ids=["pipe", "pipe-spaces", "json-array"],
)
def test_read_csv_list_fields(tmp_path, cell):
    path = write_csv(tmp_path / "d.csv", ["id", "text", "topics", "type"], [["x", "Bài một.", cell, ""]])
    (record,) = read_records(path)
    assert record.topics == ("Kinh tế", "Xã hội")
    assert record.type is None  # an empty cell is "not labelled"


def test_read_csv_gz(tmp_path):
    path = tmp_path / "d.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([["text", "tags"], ["Bài một.", "a|b"], ["Bài hai.", ""]])
    records = read_records(path)
    assert [r.tags for r in records] == [("a", "b"), None]
    assert [r.id for r in records] == ["d.csv.gz:2", "d.csv.gz:3"]


def test_headline_only_record_is_accepted(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [{"title": "Giá xăng giảm mạnh", "text": "", "topics": ["Kinh tế"]}])
    (record,) = read_records(path)
    assert record.text == "" and record.title == "Giá xăng giảm mạnh"
    assert record.full_text == "Giá xăng giảm mạnh\n"


def test_text_and_labels_are_normalised(tmp_path):
    row = {
        "title": unicodedata.normalize("NFD", " Thuỷ điện "),
        "text": unicodedata.normalize("NFD", "Nhà máy thuỷ điện hoà lưới.\r\nSức khoẻ tốt."),
        "type": unicodedata.normalize("NFD", "Văn hoá"),
        "topics": ["Sức khoẻ", unicodedata.normalize("NFD", "Sức khỏe"), "Kinh tế"],
        "tags": [" hoà bình "],
        "summary": "Thuỷ điện hoà lưới.",
    }
    (record,) = read_records(write_jsonl(tmp_path / "d.jsonl", [row]))
    assert record.title == "Thủy điện"
    assert record.text == "Nhà máy thủy điện hòa lưới.\nSức khỏe tốt."
    assert record.type == "Văn hóa"
    assert record.topics == ("Sức khỏe", "Kinh tế")  # spellings merged, duplicates dropped
    assert record.tags == ("hòa bình",)
    assert record.summary == "Thủy điện hòa lưới."
    for value in (record.title, record.text, record.type, *record.topics):
        assert unicodedata.is_normalized("NFC", value)


@pytest.mark.parametrize("name", ["d.jsonl", "d.jsonl.gz", "d.csv"])
def test_input_file_is_not_modified(tmp_path, name):
    path = tmp_path / name
    if name.endswith(".csv"):
        write_csv(path, ["text", "type"], [[unicodedata.normalize("NFD", "Thuỷ điện."), "Văn hoá"]])
    else:
        write_jsonl(path, VALID)
    before, mtime = sha256(path), path.stat().st_mtime_ns
    read_records(path)
    assert sha256(path) == before
    assert path.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # nothing written beside it


# --- invalid files -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "row, field, message",
    [
        ('{"text": "thiếu ngoặc"', None, "malformed JSON"),
        ("[1, 2]", None, "expected a JSON object, got list"),
        ({"title": "Có tiêu đề"}, "text", "missing"),
        ({"text": None}, "text", "missing"),
        ({"text": 42}, "text", "must be a string or null, got int"),
        ({"text": ["a"]}, "text", "must be a string or null, got list"),
        ({"text": "   ", "title": ""}, "text", "is empty and there is no title"),
        ({"text": "Bài.", "category": "x"}, "category", "unknown field"),
        ({"text": "Bài.", "topics": "Kinh tế"}, "topics", "must be a list of strings or null, got str"),
        ({"text": "Bài.", "topics": ["Kinh tế", ""]}, "topics", "list of non-empty strings"),
        ({"text": "Bài.", "tags": [1]}, "tags", "list of non-empty strings"),
        ({"text": "Bài.", "type": ""}, "type", "is empty; use null"),
        ({"text": "Bài.", "summary": 3.5}, "summary", "must be a string or null, got float"),
    ],
)
def test_invalid_record_names_file_line_and_field(tmp_path, row, field, message):
    path = write_jsonl(tmp_path / "d.jsonl", [{"text": "Dòng tốt."}, row])
    (problem,) = problems_of(path)
    assert problem.file == str(path)
    assert problem.line == 2
    assert problem.field == field
    assert message in problem.message
    assert str(problem).startswith(f"{path}:2: ")


def test_all_problems_of_a_file_are_collected(tmp_path):
    path = write_jsonl(
        tmp_path / "d.jsonl",
        [
            {"text": "Dòng tốt."},
            "{not json",
            {"text": 1},
            {"text": "Dòng tốt."},
            {"text": "Bài.", "topics": "x"},
        ],
    )
    with pytest.raises(DataValidationError, match=r"3 problem\(s\) in .*d\.jsonl") as info:
        read_records(path)
    problems = info.value.problems
    assert [(p.line, p.field) for p in problems] == [(2, None), (3, "text"), (5, "topics")]
    message = str(info.value)
    for line in (2, 3, 5):
        assert f"{path}:{line}:" in message


def test_several_problems_of_one_record_are_all_reported(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [{"text": 1, "topics": "x", "foo": 2}])
    assert sorted(p.field for p in problems_of(path)) == ["foo", "text", "topics"]


def test_many_problems_are_summarised(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [{"text": i} for i in range(25)])
    with pytest.raises(DataValidationError, match=r"and 5 more problem\(s\)") as info:
        read_records(path)
    assert len(info.value.problems) == 25


def test_csv_problems_name_the_csv_line(tmp_path):
    path = write_csv(tmp_path / "d.csv", ["text", "topics"], [["Tốt.", "a"], ["", "b"], ["Tốt.", "[1"]])
    problems = problems_of(path)
    assert [(p.line, p.field) for p in problems] == [(3, "text"), (4, "topics")]
    assert "does not parse" in problems[1].message


def test_csv_unknown_column_is_reported(tmp_path):
    path = write_csv(tmp_path / "d.csv", ["text", "label"], [["Bài.", "x"]])
    (problem,) = problems_of(path)
    assert (problem.line, problem.field) == (2, "label")
    assert "unknown field" in problem.message


@pytest.mark.parametrize("content", [b"", b"\n\n  \n"], ids=["empty", "blank-lines"])
def test_empty_file(tmp_path, content):
    path = tmp_path / "d.jsonl"
    path.write_bytes(content)
    (problem,) = problems_of(path)
    assert (problem.file, problem.line, problem.field) == (str(path), 0, None)
    assert "no records" in problem.message


def test_non_utf8_file(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_bytes('{"text": "Bóng đá"}\n'.encode("cp1258", errors="replace") + b'{"text": "\xe9t\xe9"}\n')
    with pytest.raises(DataValidationError, match="not UTF-8") as info:
        read_records(path)
    assert any(p.file == str(path) and "not UTF-8" in p.message for p in info.value.problems)


def test_not_gzip_file(tmp_path):
    path = tmp_path / "d.jsonl.gz"
    path.write_text('{"text": "plain"}\n', encoding="utf-8")
    (problem,) = problems_of(path)
    assert problem.file == str(path) and "cannot read file" in problem.message


@pytest.mark.parametrize(
    "name, message",
    [("missing.jsonl", "file not found"), ("data.txt", "unsupported file type"), ("folder.jsonl", "is a directory")],
)
def test_unusable_paths(tmp_path, name, message):
    path = tmp_path / name
    if name == "data.txt":
        path.write_text('{"text": "x"}\n', encoding="utf-8")
    elif name == "folder.jsonl":
        path.mkdir()
    with pytest.raises(DataValidationError, match=message):
        read_records(path)


def test_read_many_reports_the_problems_of_every_file(tmp_path):
    good = write_jsonl(tmp_path / "good.jsonl", [{"text": "Tốt."}])
    bad1 = write_jsonl(tmp_path / "bad1.jsonl", [{"text": 1}])
    bad2 = write_jsonl(tmp_path / "bad2.jsonl", [{"text": "x"}, "{oops"])
    with pytest.raises(DataValidationError) as info:
        read_many([good, bad1, bad2])
    assert [(Path(p.file).name, p.line) for p in info.value.problems] == [("bad1.jsonl", 1), ("bad2.jsonl", 2)]
    assert len(read_many([good, good])) == 2


@pytest.mark.parametrize("name", ["d.csv", "d.jsonl"])
def test_utf8_bom_is_accepted(tmp_path, name):
    path = tmp_path / name
    if name.endswith(".csv"):
        path.write_bytes("id,text\nx,Bài một.\n".encode("utf-8-sig"))
    else:
        path.write_bytes('{"id": "x", "text": "Bài một."}\n'.encode("utf-8-sig"))
    (record,) = read_records(path)
    assert record.id == "x"


# --- hardened inputs (issue 15): nothing swallowed silently, no traceback, limits per field -----------
from training.data import MAX_PROBLEMS_PER_FILE, read_records_lenient  # noqa: E402


def csv_with_unclosed_quote(path: Path, rows: int = 50, bad_row: int = 5, quoted: bool = False) -> Path:
    """``rows`` articles; row ``bad_row`` (1-based) opens a quote it never closes."""
    lines = ["id,text,type"]
    for i in range(1, rows + 1):
        text = f'"Bài số {i}, về bóng đá."' if quoted else f"Bài số {i} về bóng đá."
        lines.append(f'{i},"Bài số {i} có dấu ngoặc mở,Thể thao' if i == bad_row else f"{i},{text},Thể thao")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("quoted", [False, True], ids=["plain-cells", "quoted-cells"])
def test_an_unclosed_csv_quote_is_a_problem_at_its_line_not_a_silent_loss(tmp_path, quoted):
    path = csv_with_unclosed_quote(tmp_path / "d.csv", quoted=quoted)
    (problem,) = problems_of(path)
    assert (problem.file, problem.line, problem.field) == (str(path), 6, None)  # header + 4 rows before it
    assert "malformed CSV" in problem.message and "lines 6–51 were not read" in problem.message
    assert ("never closed" in problem.message) != quoted
    records, problems = read_records_lenient(path)
    assert [r.id for r in records] == ["1", "2", "3", "4"]
    assert [(p.line, p.message) for p in problems] == [(6, problem.message)]


def test_the_batch_tab_lists_the_unclosed_quote(tmp_path, predictor):
    from serve.app import run_batch

    out = run_batch(predictor, str(csv_with_unclosed_quote(tmp_path / "d.csv")))
    assert len(out["rows"]) == 4
    (skipped,) = out["skipped"]
    assert skipped.startswith("line 6: malformed CSV") and "lines 6–51 were not read" in skipped


def test_multi_line_csv_cells_are_still_read(tmp_path):
    rows = [[str(i), f"Đoạn một của bài {i}, có dấu phẩy.\nĐoạn hai, \"trích dẫn\".\r\nĐoạn ba.", "Thể thao"]
            for i in range(30)]
    path = write_csv(tmp_path / "d.csv", ["id", "text", "type"], rows)
    records = read_records(path)
    assert [r.id for r in records] == [str(i) for i in range(30)]
    assert records[3].text == "Đoạn một của bài 3, có dấu phẩy.\nĐoạn hai, \"trích dẫn\".\nĐoạn ba."


@pytest.mark.parametrize(
    "content, line, field, message",
    [
        # a quote left open in the id column closes at a later quote that happens to end a cell
        ('id,text\n1,Một.\n"2,Hai.\n3,Ba.\n4","Bốn."\n5,Năm.\n', 3, "id", "holds a line break"),
        # ... in the text column, with a different number of cells on the merged record
        ('id,text\n1,Một.\n2,"Hai.\n3,Ba.\n4,",Bốn"\n5,Năm.\n', 3, None, "spans lines 3–5 and has 3 cells for 2 columns"),
        ('id,text,type\n1,Một.,X\n2,"Hai.,X\n3,Ba."\n4,Bốn.,X\n', 3, None, "spans lines 3–4 and has 2 cells for 3 columns"),
        # a stray quote inside a quoted cell
        ('id,text\n1,"Ông nói "xin chào" rồi đi."\n2,Hai.\n', 2, None, "must be doubled"),
    ],
    ids=["id-column", "more-cells", "fewer-cells", "undoubled-quote"],
)
def test_csv_records_that_swallowed_lines_are_problems(tmp_path, content, line, field, message):
    path = tmp_path / "d.csv"
    path.write_text(content, encoding="utf-8")
    problems = problems_of(path)
    assert (problems[0].line, problems[0].field) == (line, field)
    assert message in problems[0].message


def test_csv_header_problems(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("text,id,text\nMột.,1,Hai.\n", encoding="utf-8")
    (problem,) = problems_of(path)
    assert problem.line == 1 and "'text' appear more than once" in problem.message
    path.write_bytes(b"te\xffxt,id\nM\xe1\xbb\x99t.,1\n")
    problems = problems_of(path)
    assert [p.line for p in problems] == [1, 1] and "not UTF-8" in problems[0].message


DEEP = [
    ("[" * 200_000, None, "nested more than 100 levels deep"),
    ('{"text": "Bài.", "topics": ' + "[" * 50_000 + "]" * 50_000 + "}", "topics", "nested more than 100 levels"),
    ('{"text": "Bài.", "tags": [' + '{"a": ' * 5000 + "1" + "}" * 5000 + "]}", "tags", "nested more than 100 levels"),
    ('{"text": "Bài.", "id": ' + "1" * 5000 + "}", "id", "a number with 5000 digits at column 24"),
    ('{"text": "Bài.", "x": -' + "9" * 4500 + "}", "x", "a number with 4500 digits"),
]


@pytest.mark.parametrize("row, field, message", DEEP, ids=["brackets", "topics", "tags", "big-integer", "unknown-field"])
def test_deep_json_and_huge_numbers_are_problems_with_line_and_field(tmp_path, row, field, message):
    path = write_jsonl(tmp_path / "d.jsonl.gz", [{"text": "Dòng tốt."}, row, {"text": "Dòng tốt nữa."}])
    (problem,) = problems_of(path)
    assert (problem.file, problem.line, problem.field) == (str(path), 2, field)
    assert message in problem.message and problem.message.startswith("malformed JSON")
    records, _ = read_records_lenient(path)
    assert [r.text for r in records] == ["Dòng tốt.", "Dòng tốt nữa."]


def test_deep_json_in_a_csv_list_cell(tmp_path):
    path = write_csv(tmp_path / "d.csv", ["text", "topics"], [["Bài.", "[" * 100_000]])
    (problem,) = problems_of(path)
    assert (problem.line, problem.field) == (2, "topics")


@pytest.mark.parametrize(
    "field, value, limit, message",
    [
        ("text", "Bài báo dài.", "MAX_TEXT_CHARS", "is 12 characters long; the limit is 10 (NEWSLENS_MAX_TEXT_CHARS)"),
        ("title", "Tiêu đề rất dài", "MAX_TITLE_CHARS", "the limit is 10 (NEWSLENS_MAX_TITLE_CHARS)"),
        ("summary", "Tóm tắt rất dài", "MAX_SUMMARY_CHARS", "(NEWSLENS_MAX_SUMMARY_CHARS)"),
        ("type", "Thể thao và văn hóa", "MAX_LABEL_CHARS", "(NEWSLENS_MAX_LABEL_CHARS)"),
        ("topics", ["Kinh tế", "Chứng khoán và ngân hàng"], "MAX_LABEL_CHARS", "a label is 24 characters long"),
        ("tags", [str(i) for i in range(11)], "MAX_LABELS", "has 11 labels; the limit is 10 (NEWSLENS_MAX_LABELS)"),
        ("url", "https://vnexpress.net/" + "a" * 20, "MAX_META_CHARS", "(NEWSLENS_MAX_META_CHARS)"),
        ("id", "x" * 11, "MAX_META_CHARS", "the limit is 10"),
    ],
)
def test_field_limits_are_problems_naming_field_and_variable(tmp_path, monkeypatch, field, value, limit, message):
    from model import limits

    monkeypatch.setattr(limits, limit, 10)
    row = {"text": "Bài.", field: value}
    path = write_jsonl(tmp_path / "d.jsonl", [{"text": "Dòng tốt."}, row])
    (problem,) = problems_of(path)
    assert (problem.line, problem.field) == (2, field) and message in problem.message
    csv_path = write_csv(tmp_path / "d.csv", list(row), [[v if isinstance(v, str) else "|".join(v) for v in row.values()]])
    (problem,) = problems_of(csv_path)
    assert (problem.line, problem.field) == (2, field) and message in problem.message


def test_an_over_long_line_is_a_problem_and_the_rest_still_reads(tmp_path, monkeypatch):
    from model import limits

    monkeypatch.setattr(limits, "MAX_RECORD_CHARS", 100)
    for name in ("d.jsonl", "d.jsonl.gz"):
        path = write_jsonl(tmp_path / name, [{"text": "Một."}, {"text": "Hai " * 100}, {"text": "Ba."}])
        records, problems = read_records_lenient(path)
        assert [r.text for r in records] == ["Một.", "Ba."]
        assert [(p.line, p.field) for p in problems] == [(2, None)]
        assert "longer than 100 characters (NEWSLENS_MAX_RECORD_CHARS)" in problems[0].message
    path = write_csv(tmp_path / "d.csv", ["text"], [["Một."], ["Hai " * 100], ["Ba."]])
    records, problems = read_records_lenient(path)
    assert [r.text for r in records] == ["Một.", "Ba."] and [p.line for p in problems] == [3]


def test_a_non_utf8_line_names_its_line_and_the_rest_still_reads(tmp_path):
    for name, rows in (("d.jsonl", [b'{"text": "M\xe1\xbb\x99t."}', b'{"text": "\xe9t\xe9"}', b'{"text": "Ba."}']),
                       ("d.csv", [b"text", "Một.".encode(), b"\xe9t\xe9", b"Ba."])):
        path = tmp_path / name
        path.write_bytes(b"\n".join(rows) + b"\n")
        records, problems = read_records_lenient(path)
        assert [r.text for r in records] == ["Một.", "Ba."]
        line = 2 if name.endswith(".jsonl") else 3
        assert [(p.line, p.field) for p in problems] == [(line, None)]
        assert "not UTF-8 text (byte 0xe9 at column" in problems[0].message


def test_a_truncated_gzip_names_where_reading_stopped(tmp_path):
    full = write_jsonl(tmp_path / "full.jsonl.gz", [{"id": str(i), "text": f"Bài {i}. " * 200} for i in range(300)])
    path = tmp_path / "d.jsonl.gz"
    path.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    records, problems = read_records_lenient(path)
    (problem,) = problems
    assert problem.line == len(records) + 1 and 0 < len(records) < 300
    assert f"cannot read the file after line {len(records)}" in problem.message and "rest of the file" in problem.message


def test_too_many_problems_stop_reading_with_a_problem_that_says_so(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text("x\n" * (MAX_PROBLEMS_PER_FILE + 500), encoding="utf-8")
    records, problems = read_records_lenient(path)
    assert records == [] and len(problems) == MAX_PROBLEMS_PER_FILE + 2
    last = MAX_PROBLEMS_PER_FILE + 1
    assert problems[-1].line == last
    assert f"stopped reading after this line, so lines {last + 1}–{MAX_PROBLEMS_PER_FILE + 500} were not read" \
        in problems[-1].message


@pytest.mark.parametrize(
    "row, field, message",
    [
        ({"text": "\u200b\ufeff\x00 "}, "text", "is empty and there is no title"),
        ({"text": "\u200b", "title": "\u200b\u2060"}, "text", "is empty and there is no title"),
        ({"text": "Bài.", "type": "\u200b"}, "type", "is empty; use null"),
        ({"text": "Bài.", "topics": ["Kinh tế", "\ufeff"]}, "topics", "list of non-empty strings"),
        ({"text": "Bài \ud800 lỗi."}, "text", "unpaired surrogate (\\ud800) at character 5"),
        ({"text": "Bài.", "tags": ["Bóng \udfff đá"]}, "tags", "a label holds an unpaired surrogate"),
    ],
    ids=["invisible-text", "invisible-title", "invisible-type", "invisible-topic", "surrogate", "surrogate-tag"],
)
def test_invisible_and_broken_strings_are_problems(tmp_path, row, field, message):
    path = tmp_path / "d.jsonl"
    path.write_text('{"text": "Dòng tốt."}\n' + json.dumps(row) + "\n", encoding="utf-8")
    (problem,) = problems_of(path)
    assert (problem.line, problem.field) == (2, field) and message in problem.message


def test_a_csv_with_a_huge_header_reads_in_linear_time(tmp_path):
    import time

    columns = 50_000  # a header.count() per column would take minutes
    path = tmp_path / "d.csv"
    path.write_text("text," + ",".join(f"c{i}" for i in range(columns)) + "\nBài một." + "," * columns + "\n",
                    encoding="utf-8")
    start = time.perf_counter()
    records, problems = read_records_lenient(path)
    assert [r.text for r in records] == ["Bài một."] and problems == []
    strict = problems_of(path)  # every unknown column is a problem, up to the cap
    assert len(strict) == columns + 1 and "more than 1000 problems" in strict[-1].message
    assert time.perf_counter() - start < 5


def test_type_from_source_fills_only_missing_types():
    from training.data import type_from_source

    records = [Record(id="a", text="x", source="recent/dantri/education"),
               Record(id="b", text="x", source="recent/dantri/education", type="Thể thao"),
               Record(id="c", text="x", source="recent/dantri/sports"),
               Record(id="d", text="x")]
    out, n = type_from_source(records, {"recent/*/education": "Giáo dục"})
    assert n == 1
    assert [r.type for r in out] == ["Giáo dục", "Thể thao", None, None]
    assert records[0].type is None  # the input is not changed
    assert type_from_source(records, {}) == (records, 0)
