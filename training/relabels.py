"""Label changes kept as data in the registry, never as edits to the corpora.

``newslens retrain --relabel-similar`` gives a new type label to the old training articles that
look like the new label's articles (``newdata.lookalike_rule``). Each change is one line
``{"key", "from", "to", "similarity"}`` in ``relabels/<name>.jsonl.gz`` under the registry; a
version's info lists the files in force for it (``"relabels"``). A retrain applies its current
model's list to the old data and passes it on; ``--undo-relabels`` trains a candidate without
any. The data files themselves are only ever read.
"""
from __future__ import annotations

import gzip
import json
import os
import tempfile
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from .data import Record

RELABEL_DIR = "relabels"


def write_relabels(home: Path, changes: list[dict]) -> str:
    """Write ``changes`` atomically under ``home``; returns the file's name (kept in the version's info)."""
    folder = home / RELABEL_DIR
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{datetime.now(timezone.utc).strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.jsonl.gz"
    fd, tmp = tempfile.mkstemp(prefix=".relabels-", dir=folder)
    os.close(fd)
    try:
        with gzip.open(tmp, "wt", encoding="utf-8") as f:
            f.writelines(json.dumps(c, ensure_ascii=False) + "\n" for c in changes)
        os.replace(tmp, folder / name)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return name


def read_relabels(home: Path, names: list[str]) -> list[dict]:
    changes = []
    for name in names:
        path = home / RELABEL_DIR / Path(name).name  # a name, never a path elsewhere
        with gzip.open(path, "rt", encoding="utf-8") as f:
            changes.extend(json.loads(line) for line in f if line.strip())
    return changes


def apply_relabels(records: list[Record], changes: list[dict], key) -> tuple[list[Record], int]:
    """(records with the changes applied, how many changed). A change applies only where the
    article still carries the label it was changed from, so a corrected label is never undone."""
    by_key = {c["key"]: c for c in changes}
    out, n = [], 0
    for r in records:
        c = by_key.get(key(r))
        if c is not None and r.type == c["from"]:
            r = replace(r, type=c["to"])
            n += 1
        out.append(r)
    return out, n
