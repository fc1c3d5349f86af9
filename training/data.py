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
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Iterable, Iterator

from model.text import normalize

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
    if path.name.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    # utf-8-sig: Excel's "CSV UTF-8" starts files with a byte-order mark.
    return open(path, encoding="utf-8-sig", newline="")


def _iter_raw(path: Path, problems: list[Problem]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, raw dict) from a JSONL or CSV file, recording parse problems."""
    name = str(path)
    is_csv = path.name.endswith((".csv", ".csv.gz"))
    try:
        with _open_text(path) as handle:
            if is_csv:
                reader = csv.DictReader(handle)
                for row in reader:
                    line = reader.line_num
                    if None in row:  # more cells than header columns
                        problems.append(Problem(name, line, None, "more cells than header columns"))
                        row.pop(None)
                    yield line, {k: _csv_cell(k, v, name, line, problems) for k, v in row.items()}
                return
            for line, raw in enumerate(handle, start=1):
                if not raw.strip():
                    continue
                try:
                    obj = json.loads(raw)
                except json.JSONDecodeError as e:
                    problems.append(Problem(name, line, None, f"malformed JSON ({e.msg} at column {e.colno})"))
                    continue
                if not isinstance(obj, dict):
                    problems.append(Problem(name, line, None, f"expected a JSON object, got {type(obj).__name__}"))
                    continue
                yield line, obj
    except UnicodeDecodeError as e:
        problems.append(Problem(name, 0, None, f"not UTF-8 text ({e.reason} at byte {e.start})"))
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        problems.append(Problem(name, 0, None, f"cannot read file ({e})"))
    except csv.Error as e:
        problems.append(Problem(name, 0, None, f"malformed CSV ({e})"))


def _csv_cell(key: str | None, value: str | None, name: str, line: int, problems: list[Problem]) -> Any:
    if value is None or value.strip() == "":
        return None
    if key in ("topics", "tags"):
        value = value.strip()
        if value.startswith("["):
            try:
                parsed = json.loads(value)
            except json.JSONDecodeError:
                problems.append(Problem(name, line, key, "looks like a JSON array but does not parse"))
                return None
            return parsed
        return [part.strip() for part in value.split(CSV_LIST_SEPARATOR) if part.strip()]
    return value


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
        if isinstance(value, list) and not all(isinstance(v, str) and v.strip() for v in value):
            problems.append(Problem(name, line, key, "must be a list of non-empty strings"))
        elif key == "type" and not value.strip():
            problems.append(Problem(name, line, key, "is empty; use null for an unlabelled type"))
        elif key == "text" and not value.strip() and not str(obj.get("title") or "").strip():
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
