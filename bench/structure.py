"""Precision of the page-structure rules (model/structure.py) on lines labelled by hand.

    python bench/structure.py

``data/structure_lines.tsv`` holds 200 non-blank body lines of real articles (``vims/all``,
``recent/test``, ``recent/train``, ``vietnews/test``): 120 drawn from the lines the rules
flagged as furniture (30 per kind found) and 80 from the lines they left as body, each
labelled by reading it in its article (see data/README.md). This re-runs the rules on each
article and reports, with 95% Wilson intervals: the share of flagged lines that are furniture
(precision), the share of flagged lines whose kind is right, and the share of body lines
that are body. Writes bench/results/structure.json.
"""
from __future__ import annotations

import csv
import gzip
import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS, wilson, write_report  # noqa: E402
from model.paths import data_dir  # noqa: E402
from model.structure import BODY, line_kinds  # noqa: E402
from model.text import read_article  # noqa: E402

LABELS = Path(__file__).resolve().parent.parent / "data" / "structure_lines.tsv"


def detector_kinds(rows: list[dict]) -> list[str]:
    wanted: dict[str, set[str]] = {}
    for r in rows:
        wanted.setdefault(r["file"], set()).add(r["record"])
    articles = {}
    for name, ids in wanted.items():
        with gzip.open(data_dir() / f"{name}.jsonl.gz", "rt", encoding="utf-8") as f:
            for line in f:
                rec = json.loads(line)
                if rec.get("id") in ids:
                    a = read_article(rec["text"], rec.get("title") or "")
                    articles[(name, rec["id"])] = (a.body.split("\n"), line_kinds(a.body))
    out = []
    for r in rows:
        lines, kinds = articles[(r["file"], r["record"])]
        i = int(r["line"])
        assert lines[i].strip()[:300] == r["text"], f"row {r['n']}: the line moved"
        out.append(kinds[i])
    return out


def main() -> int:
    rows = list(csv.DictReader(LABELS.open(encoding="utf-8", newline=""), delimiter="\t"))
    found = detector_kinds(rows)
    truth = [r["label"] for r in rows]
    flagged = [(d, t) for d, t in zip(found, truth) if d != BODY]
    left = [(d, t) for d, t in zip(found, truth) if d == BODY]
    k_furn = sum(t != BODY for _, t in flagged)
    k_kind = sum(d == t for d, t in flagged)
    k_body = sum(t == BODY for _, t in left)
    report = {
        "lines": len(rows),
        "flagged": {"n": len(flagged), "furniture": k_furn, "precision": k_furn / len(flagged),
                    "precision_ci": wilson(k_furn, len(flagged)), "kind_right": k_kind / len(flagged),
                    "kind_right_ci": wilson(k_kind, len(flagged))},
        "left_as_body": {"n": len(left), "body": k_body, "share": k_body / max(len(left), 1),
                         "share_ci": wilson(k_body, len(left))},
        "per_kind_precision": {kind: {"n": n, "furniture": sum(1 for d, t in flagged if d == kind and t != BODY)}
                               for kind, n in Counter(d for d, _ in flagged).items()},
        "confusion": {f"{d} -> {t}": n for (d, t), n in sorted(Counter(zip(found, truth)).items())},
    }
    print(json.dumps(report, ensure_ascii=False, indent=1))
    write_report(report, RESULTS / "structure.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
