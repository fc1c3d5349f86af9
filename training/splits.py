"""Fixed, seeded dev splits carved from training files.

Every recipe choice (features, weights, thresholds, defaults) is made on records that this
module sets aside, never on a test file. A record's side is decided by a hash of its id and
a salt, not by its position, so the split does not move when a file is re-ordered or grows:
the same article stays on the same side in every run, on every machine.
"""
from __future__ import annotations

import hashlib
from typing import Sequence

from .data import Record

DEV_SALT = "newslens-dev-v1"


def in_dev(record_id: str, share: float, salt: str = DEV_SALT) -> bool:
    """True for about ``share`` of all ids, always the same ones for one salt."""
    digest = hashlib.sha1(f"{salt}:{record_id}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def dev_split(records: Sequence[Record], share: float, salt: str = DEV_SALT) -> tuple[list[Record], list[Record]]:
    """(fit part, dev part) of ``records``: about ``share`` of them, chosen by id."""
    if not 0.0 <= share < 1.0:
        raise ValueError(f"share must be in [0, 1); got {share!r}.")
    fit, dev = [], []
    for r in records:
        (dev if in_dev(r.id, share, salt) else fit).append(r)
    return fit, dev

