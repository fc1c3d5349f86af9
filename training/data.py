"""Reading and validating labelled articles in the shared schema (JSONL, JSONL.gz, CSV).

Validation happens here, at the boundary: every problem of a file is collected and
reported together, each with its file, line and field, before any training starts.
Input files are only ever opened for reading.
"""
from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import os
import re
import zlib
from collections import Counter
from dataclasses import asdict, dataclass, fields, replace
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Iterable, Iterator

from model import limits
from model.text import has_visible_text, normalize

# field -> (allowed python types, required)
SCHEMA: dict[str, tuple[tuple[type, ...], bool]] = {
    "id": ((str,), False),
    "source": ((str,), False),
    "url": ((str,), False),
    "date": ((str,), False),
    "title": ((str,), False),
    "text": ((str,), True),
    "type": ((str,), False),
    "topics": ((list,), False),
    "tags": ((list,), False),
    "summary": ((str,), False),
}
TASK_FIELDS = ("type", "topics", "tags", "summary")
SUFFIXES = (".jsonl", ".jsonl.gz", ".json.gz", ".csv", ".csv.gz")
# In CSV, list fields hold a JSON array or labels separated by this character.
CSV_LIST_SEPARATOR = "|"
MAX_PROBLEMS_SHOWN = 20
# A file with more problems than this is not the data it claims to be: reading stops there
# (with a problem that says so), so a garbage upload cannot fill memory with problems.
MAX_PROBLEMS_PER_FILE = 1000


@dataclass(frozen=True)
class Record:
    """One article. ``None`` in a label field means "not labelled", never "none apply"."""

    id: str
    text: str
    title: str = ""
    source: str | None = None
    url: str | None = None
    date: str | None = None
    type: str | None = None
    topics: tuple[str, ...] | None = None
    tags: tuple[str, ...] | None = None
    summary: str | None = None

    @property
    def full_text(self) -> str:
        """Headline and body as one text, the way every model reads an article."""
        return f"{self.title}\n{self.text}" if self.title else self.text

    def to_json_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for key in ("topics", "tags"):
            if d[key] is not None:
                d[key] = list(d[key])
        return d


@dataclass(frozen=True)
class Problem:
    file: str
    line: int  # 1-based; 0 for problems with the file as a whole
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {'field ' + repr(self.field) + ': ' if self.field else ''}{self.message}"


class DataValidationError(ValueError):
    """A data file has problems; ``problems`` lists every one of them."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        shown = "\n  ".join(str(p) for p in problems[:MAX_PROBLEMS_SHOWN])
        more = len(problems) - MAX_PROBLEMS_SHOWN
        tail = f"\n  ... and {more} more problem(s)" if more > 0 else ""
        files = sorted({p.file for p in problems})
        super().__init__(
            f"{len(problems)} problem(s) in {', '.join(files)}:\n  {shown}{tail}\n"
            "Each record needs a non-empty string 'text'; optional fields are "
            f"{', '.join(k for k in SCHEMA if k != 'text')} (null = not labelled). "
            "See data/README.md."
        )


def _open_text(path: Path) -> io.TextIOBase:
    # utf-8-sig: Excel's "CSV UTF-8" starts files with a byte-order mark. surrogateescape: a
    # byte that is not UTF-8 becomes a lone surrogate, found line by line (``_Lines``), so
    # the problem names its line and the rest of the file still reads.
    raw = gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")  # noqa: SIM115 - closed with the wrapper
    return io.TextIOWrapper(raw, encoding="utf-8-sig", errors="surrogateescape", newline="")


_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class _Lines:
    """The physical lines of a text file, counted (``n``), each at most ``limit`` characters.

    A line that is too long or is not UTF-8 is yielded as an empty line and noted in ``bad``
    (line number -> message), so the caller reports it at its line and reads on.
    """

    def __init__(self, handle: io.TextIOBase, limit: int):
        self.handle = handle
        self.limit = limit
        self.n = 0
        self.bad: dict[int, str] = {}

    def __iter__(self) -> Iterator[str]:
        while True:
            line = self.handle.readline(self.limit + 1)
            if not line:
                return
            self.n += 1
            if len(line) > self.limit:
                while line and not line.endswith(("\n", "\r")):  # skip the rest of this line
                    line = self.handle.readline(self.limit + 1)
                self.bad[self.n] = (f"line longer than {self.limit:,} characters "
                                    f"(NEWSLENS_MAX_RECORD_CHARS); not read")
                yield "\n"
                continue
            escaped = _ESCAPED_BYTE.search(line)
            if escaped:
                byte = ord(escaped.group()) - 0xDC00
                self.bad[self.n] = f"not UTF-8 text (byte 0x{byte:02x} at column {escaped.start() + 1}); save the file as UTF-8"
                yield "\n"
                continue
            yield line

    def take_bad(self, last: int) -> list[tuple[int, str]]:
        """The bad lines up to ``last`` not taken yet, in order (forgotten once taken)."""
        if not self.bad:
            return []
        return [(n, self.bad.pop(n)) for n in sorted(self.bad) if n <= last]


class _TooManyProblems(Exception):
    pass


def _iter_raw(path: Path, problems: list[Problem], jsonl_text: bool = False) -> Iterator[tuple[int, Any]]:
    """Yield (line number, raw dict) from a JSONL or CSV file, recording parse problems.

    With ``jsonl_text``, a JSONL file's non-blank lines come as their text, not yet parsed
    (``json_object`` parses them later, e.g. in the batch job's workers).

    Never raises for the file's content: every problem becomes a ``Problem`` with the line it
    is on (0 only for the file as a whole). Reading stops early only when the file cannot be
    read on (a damaged gzip stream, a CSV quote left open) or has more than
    ``MAX_PROBLEMS_PER_FILE`` problems, and then a problem says which lines were not read.
    """
    name = str(path)
    is_csv = path.name.endswith((".csv", ".csv.gz"))
    lines: _Lines | None = None
    try:
        with _open_text(path) as handle:
            lines = _Lines(handle, limits.MAX_RECORD_CHARS)
            parse = _iter_csv if is_csv else _iter_jsonl_text if jsonl_text else _iter_jsonl
            try:
                for line, obj in parse(lines, name, problems):
                    yield line, obj
                    _check_count(problems)
            except _TooManyProblems:
                stopped = lines.n
                rest = _lines_not_read(lines, stopped + 1)
                problems.append(Problem(name, stopped, None, f"more than {MAX_PROBLEMS_PER_FILE} problems: stopped "
                                        f"reading after this line{', so ' + rest if rest else ''}. "
                                        "Is this the right file and format?"))
    except (OSError, EOFError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
        read = lines.n if lines is not None else 0
        if read == 0:
            problems.append(Problem(name, 0, None, f"cannot read file ({e})"))
        else:
            problems.append(Problem(name, read + 1, None, f"cannot read the file after line {read} "
                                    f"({e}; a truncated or damaged file?); the rest of the file was not read"))


def _lines_not_read(lines: _Lines, first: int) -> str:
    """Read the rest of the file only to count its lines: 'lines N–M were not read'."""
    try:
        for _ in lines:
            pass
    except (OSError, EOFError, zlib.error):
        return f"lines from {first} on were not read"
    if lines.n < first:
        return ""
    if lines.n == first:
        return f"line {first} was not read"
    return f"lines {first}–{lines.n} were not read"


def _check_count(problems: list[Problem]) -> None:
    if len(problems) > MAX_PROBLEMS_PER_FILE:
        raise _TooManyProblems


_DEEP = 100  # nesting depth reported for JSON too deeply nested to parse
_LONG_NUMBER = re.compile(r"\d{1000,}")


def _locate(raw: str, depth: int | None = None, at: int | None = None) -> tuple[str | None, int]:
    """The top-level key of a JSON object line at the point where nesting first exceeds
    ``depth``, or at index ``at``; and that point's column (for an unparseable line)."""
    key: str | None = None
    level = 0
    in_string = escaped = False
    start = 0
    last_string = ""
    for i, ch in enumerate(raw):
        if at is not None and i >= at:
            return key, i + 1
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
                last_string = raw[start:i]
            continue
        if ch == '"':
            in_string, start = True, i + 1
        elif ch == ":" and level == 1:
            key = last_string
        elif ch in "[{":
            level += 1
            if depth is not None and level > depth:
                return key, i + 1
        elif ch in "]}":
            level -= 1
    return key, 0


def _iter_jsonl(lines: _Lines, name: str, problems: list[Problem]) -> Iterator[tuple[int, dict[str, Any]]]:
    for raw in lines:
        obj = _json_object(raw, lines, name, problems)
        if obj is not None:
            yield lines.n, obj
        _check_count(problems)


def _iter_jsonl_text(lines: _Lines, name: str, problems: list[Problem]) -> Iterator[tuple[int, str]]:
    for raw in lines:
        if lines.n in lines.bad:
            problems.append(Problem(name, lines.n, None, lines.bad.pop(lines.n)))
        elif raw.strip():
            yield lines.n, raw
        _check_count(problems)


def _json_object(raw: str, lines: _Lines, name: str, problems: list[Problem]) -> dict[str, Any] | None:
    """The object on this line, or None (with its problem recorded; none for a blank line)."""
    line = lines.n
    if line in lines.bad:
        problems.append(Problem(name, line, None, lines.bad.pop(line)))
        return None
    if not raw.strip():
        return None
    return json_object(raw, name, line, problems)


def json_object(raw: str, name: str, line: int, problems: list[Problem]) -> dict[str, Any] | None:
    """The JSON object on one non-blank line of ``name``, or None with its problem recorded."""
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as e:
        problems.append(Problem(name, line, None, f"malformed JSON ({e.msg} at column {e.colno})"))
        return None
    except RecursionError:
        key, column = _locate(raw, depth=_DEEP)
        problems.append(Problem(name, line, key, f"malformed JSON (nested more than {_DEEP} levels deep at "
                                f"column {column}; a record holds strings and lists of strings)"))
        return None
    except ValueError:  # an integer with more digits than Python converts (4,300 by default)
        digits = _LONG_NUMBER.search(raw)
        key, column = _locate(raw, at=digits.start()) if digits else (None, 0)
        problems.append(Problem(name, line, key, "malformed JSON (a number with "
                                f"{len(digits.group()) if digits else 'too many'} digits"
                                f"{f' at column {column}' if column else ''})"))
        return None
    if not isinstance(obj, dict):
        problems.append(Problem(name, line, None, f"expected a JSON object, got {type(obj).__name__}"))
        return None
    return obj


# Fields that hold one line; a line break in one of them in a CSV means a quote swallowed lines.
_ONE_LINE_FIELDS = frozenset(SCHEMA) - {"text", "summary"}


def _iter_csv(lines: _Lines, name: str, problems: list[Problem]) -> Iterator[tuple[int, dict[str, Any]]]:
    # A cell may be as long as a record; longer ones are reported at their line, not by csv.
    if csv.field_size_limit() < limits.MAX_RECORD_CHARS:
        csv.field_size_limit(limits.MAX_RECORD_CHARS)
    # strict: a quote left open to the end of the file, or a quote that closes a cell in the
    # middle of a value, is an error instead of a record that silently swallows the lines after it.
    reader = csv.reader(lines, strict=True)
    header: list[str] | None = None
    while True:
        _check_count(problems)
        first = lines.n + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            last = lines.n
            what = ("a quoted cell that starts in this record is never closed (a quote left open)"
                    if "end of data" in str(e) else
                    f"on line {last} a quote ends a quoted cell in the middle of a value (a quote inside a quoted "
                    "cell must be doubled: \"\"; or a quote was left open before it)"
                    if "expected after" in str(e) else str(e))
            problems.append(Problem(name, first, None, f"malformed CSV: {what}; {_lines_not_read(lines, first)}. "
                                    "Fix the quotes and read the file again."))
            return
        last = lines.n
        bad = lines.take_bad(last)
        if bad:
            problems.extend(Problem(name, n, None, m) for n, m in bad)
            if header is None:
                rest = _lines_not_read(lines, last + 1)
                problems.append(Problem(name, first, None, "the header line could not be read, so neither could "
                                        f"the rest of the file{'; ' + rest if rest else ''}"))
                return
            continue
        if not row:
            continue  # a blank line
        if header is None:
            header = row
            duplicates = sorted(h for h, n in Counter(header).items() if n > 1)
            if duplicates:
                problems.append(Problem(name, first, None, f"column(s) {', '.join(map(repr, duplicates))} appear more "
                                        "than once in the header; the file was not read"))
                return
            continue
        spans = f"spans lines {first}–{last}" if last > first else ""
        if spans and len(row) != len(header):
            problems.append(Problem(name, first, None, f"the record starting on this line {spans} and has {len(row)} "
                                    f"cells for {len(header)} columns: a quote left open probably swallowed the lines "
                                    "after it; none of them was read as a record"))
            continue
        broken = [h for h, v in zip(header, row) if h in _ONE_LINE_FIELDS and ("\n" in v or "\r" in v)]
        if broken:
            problems.extend(Problem(name, first, h, f"holds a line break (the record {spans}): a quote left open "
                                    "probably swallowed the lines after it") for h in broken)
            continue
        if len(row) > len(header):
            problems.append(Problem(name, first, None, "more cells than header columns"))
        yield first, {h: _csv_cell(h, v, name, first, problems) for h, v in zip(header, row)}


def _csv_cell(key: str | None, value: str | None, name: str, line: int, problems: list[Problem]) -> Any:
    if value is None or value.strip() == "":
        return None
    if key in ("topics", "tags"):
        value = value.strip()
        if value.startswith("["):
            try:
                parsed = json.loads(value)
            except (ValueError, RecursionError):  # JSONDecodeError is a ValueError
                problems.append(Problem(name, line, key, "looks like a JSON array but does not parse"))
                return None
            return parsed
        return [part.strip() for part in value.split(CSV_LIST_SEPARATOR) if part.strip()]
    return value


# field -> the name of its limit in ``model.limits`` (read at call time, so tests may change it)
_CHAR_LIMITS = {"id": "MAX_META_CHARS", "source": "MAX_META_CHARS", "url": "MAX_META_CHARS",
                "date": "MAX_META_CHARS", "title": "MAX_TITLE_CHARS", "text": "MAX_TEXT_CHARS",
                "type": "MAX_LABEL_CHARS", "summary": "MAX_SUMMARY_CHARS"}


def _too_long(value: str, limit_name: str) -> str | None:
    limit = getattr(limits, limit_name)
    if len(value) > limit:
        return f"is {len(value):,} characters long; the limit is {limit:,} (NEWSLENS_{limit_name})"
    return None


def _not_unicode(value: str) -> str | None:
    bad = _SURROGATE.search(value)
    if bad:
        return (f"holds an unpaired surrogate (\\u{ord(bad.group()):04x}) at character {bad.start() + 1}, "
                "which is not Unicode text")
    return None


def _validate(obj: dict[str, Any], name: str, line: int, problems: list[Problem], ignore_unknown: bool = False) -> Record | None:
    before = len(problems)
    if ignore_unknown:
        obj = {k: v for k, v in obj.items() if k in SCHEMA}
    for key in obj:
        if key not in SCHEMA:
            problems.append(Problem(name, line, key, f"unknown field (allowed: {', '.join(SCHEMA)})"))
    for key, (types, required) in SCHEMA.items():
        value = obj.get(key)
        if value is None:
            if required:
                problems.append(Problem(name, line, key, "missing; every record needs its article text"))
            continue
        if not isinstance(value, types):
            want = "a list of strings" if types == (list,) else "a string"
            problems.append(Problem(name, line, key, f"must be {want} or null, got {type(value).__name__}"))
            continue
        if isinstance(value, list):
            if not all(isinstance(v, str) and has_visible_text(v) for v in value):
                problems.append(Problem(name, line, key, "must be a list of non-empty strings"))
            elif len(value) > limits.MAX_LABELS:
                problems.append(Problem(name, line, key, f"has {len(value):,} labels; the limit is "
                                        f"{limits.MAX_LABELS:,} (NEWSLENS_MAX_LABELS)"))
            else:
                wrong = next((m for m in (_too_long(v, "MAX_LABEL_CHARS") or _not_unicode(v) for v in value) if m), None)
                if wrong:
                    problems.append(Problem(name, line, key, f"a label {wrong}"))
            continue
        wrong = _too_long(value, _CHAR_LIMITS[key]) or _not_unicode(value)
        if wrong:
            problems.append(Problem(name, line, key, wrong))
        elif key == "type" and not has_visible_text(value):
            problems.append(Problem(name, line, key, "is empty; use null for an unlabelled type"))
        elif key == "text" and not has_visible_text(value) and not has_visible_text(str(obj.get("title") or "")):
            # Headline-only records (as in DANeS) are fine; a record with no words is not.
            problems.append(Problem(name, line, key, "is empty and there is no title; every record needs article text"))
    if len(problems) > before:
        return None

    def clean(key: str) -> Any:
        value = obj.get(key)
        if value is None:
            return None
        if isinstance(value, list):
            return tuple(dict.fromkeys(normalize(v).strip() for v in value))
        return normalize(value).strip() if key != "text" else normalize(value)

    return Record(
        id=clean("id") or f"{Path(name).name}:{line}",
        text=clean("text"),
        title=clean("title") or "",
        source=clean("source"),
        url=clean("url"),
        date=clean("date"),
        type=clean("type"),
        topics=clean("topics"),
        tags=clean("tags"),
        summary=clean("summary") or None,
    )


def read_records(path: str | os.PathLike) -> list[Record]:
    """Read and validate one data file; raise ``DataValidationError`` listing every problem."""
    records, problems = read_records_lenient(path, ignore_unknown=False)
    if problems:
        raise DataValidationError(problems)
    return records


def read_records_lenient(path: str | os.PathLike, ignore_unknown: bool = True) -> tuple[list[Record], list[Problem]]:
    """The records that are valid and the problems of the others (for batch prediction,
    where one bad row must not stop the rest). Unknown fields are ignored by default."""
    path = Path(path)
    name = str(path)
    if not path.exists():
        return [], [Problem(name, 0, None, "file not found")]
    if path.is_dir():
        return [], [Problem(name, 0, None, "is a directory; pass a .jsonl, .jsonl.gz or .csv file")]
    if not path.name.endswith(SUFFIXES):
        return [], [Problem(name, 0, None, f"unsupported file type; use one of {', '.join(SUFFIXES)}")]
    problems: list[Problem] = []
    records: list[Record] = []
    for line, obj in _iter_raw(path, problems):
        record = _validate(obj, name, line, problems, ignore_unknown)
        if record is not None:
            records.append(record)
    if not records and not problems:
        problems.append(Problem(name, 0, None, "no records (the file is empty)"))
    return records, problems


def read_many(paths: Iterable[str | os.PathLike]) -> list[Record]:
    """Read several files, reporting the problems of all of them together."""
    records: list[Record] = []
    problems: list[Problem] = []
    for path in paths:
        try:
            records.extend(read_records(path))
        except DataValidationError as e:
            problems.extend(e.problems)
    if problems:
        raise DataValidationError(problems)
    return records


def type_from_source(records: list[Record], rules: dict[str, str]) -> tuple[list[Record], int]:
    """(records, how many got a type): each untyped record whose ``source`` matches a pattern
    of ``rules`` (``fnmatch``, case-sensitive; the first that matches) takes that pattern's
    type. A record that has a type keeps it, so a rule never overrides a label."""
    if not rules:
        return records, 0
    out, n = [], 0
    for r in records:
        if r.type is None and r.source:
            label = next((t for pattern, t in rules.items() if fnmatchcase(r.source, pattern)), None)
            if label is not None:
                r = replace(r, type=label)
                n += 1
        out.append(r)
    return out, n


def fingerprint(path: str | os.PathLike) -> dict[str, Any]:
    """sha256 and size of a file, so a bundle records exactly what it was trained on."""
    path = Path(path)
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    # absolute path: a later retrain may run from another directory
    return {"file": path.name, "path": str(path.resolve()), "sha256": digest.hexdigest(), "bytes": path.stat().st_size}


def record_fields() -> list[str]:
    return [f.name for f in fields(Record)]
