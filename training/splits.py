"""The one place where held-out records are carved from training data.

Every recipe choice (features, weights, thresholds, defaults) is made on records that this
module sets aside, never on a test file. Four carvings, each kept exactly as its caller has
always made it (so results do not move):

- ``dev_split`` / ``in_dev``: fixed dev splits for recipe experiments (``bench/``). A record's
  side is decided by a hash of its id and a salt, not by its position, so the split does not
  move when a file is re-ordered or grows: the same article stays on the same side in every
  run, on every machine.
- ``hashed_holdout``: the registry's fixed holdout (``registry.split_holdout``): per task, a
  share of the labelled records (capped), ranked by a hash of their content.
- ``task_holdout``: the transformer's held-out records per task (they choose the topic
  thresholds and the combination weights), drawn by a seeded generator.
- ``leading_holdout``: the first records of a list (of the baseline's sampled summary
  articles: those that choose the length budget).
- ``cluster_halves``: ViMs, the one corpus with editorial tags, cut in two by story cluster
  (its records come in clusters of near-duplicates, which must stay on one side). The keyword
  ranking is fit on the dev half and judged on the other.

And one proxy: ``danes_type_proxy``, type labels read off ``danes/train``'s topics, for
choices about articles of neither era the type heads learn from (other outlets, the Covid years).
"""
from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Callable, Mapping, Sequence, TypeVar

import numpy as np

from .data import Record

T = TypeVar("T")

DEV_SALT = "newslens-dev-v1"
# A holdout never takes more than 1/HOLDOUT_DIVISOR of the records it is carved from (per task):
# the model must still learn from most of them.
HOLDOUT_DIVISOR = 5


def hashed(salt: object, key: str) -> bytes:
    """The SHA-1 digest of ``"salt:key"``: the same for one record on every run and machine."""
    return hashlib.sha1(f"{salt}:{key}".encode("utf-8")).digest()


def in_dev(record_id: str, share: float, salt: str = DEV_SALT) -> bool:
    """True for about ``share`` of all ids, always the same ones for one salt."""
    return int.from_bytes(hashed(salt, record_id)[:8], "big") / 2**64 < share


def dev_split(records: Sequence[Record], share: float, salt: str = DEV_SALT) -> tuple[list[Record], list[Record]]:
    """(fit part, dev part) of ``records``: about ``share`` of them, chosen by id."""
    if not 0.0 <= share < 1.0:
        raise ValueError(f"share must be in [0, 1); got {share!r}.")
    fit, dev = [], []
    for r in records:
        (dev if in_dev(r.id, share, salt) else fit).append(r)
    return fit, dev


def hashed_holdout(records: Sequence[T], key: Callable[[T], str], shares: Mapping[str, tuple[float, int]],
                   seed: int = 0) -> tuple[list[T], list[T]]:
    """(records to train on, holdout): per task of ``shares`` ({task: (share, cap)}), the
    ``min(cap, int(share * n))`` records labelled for it (of n) that rank first by a hash of
    ``seed`` and their ``key``. Independent of the records' order; a record held out for one
    task is held out for all, and records with the same key go together (the holdout keeps one)."""
    def rank(r: T) -> bytes:
        return hashed(seed, key(r))

    held: set[str] = set()
    for task, (share, cap) in shares.items():
        labelled = sorted((r for r in records if getattr(r, task) is not None), key=rank)
        for r in labelled[: min(cap, int(share * len(labelled)))]:
            held.add(key(r))
    train = [r for r in records if key(r) not in held]
    holdout = list({key(r): r for r in records if key(r) in held}.values())
    return train, holdout


def task_holdout(records: Sequence[T], tasks: Sequence[str], sizes: Mapping[str, int],
                 seed: int) -> tuple[list[T], dict[str, list[T]]]:
    """(training records, held-out records per task): for each task in order, ``sizes[task]``
    records labelled for it (at most a fifth of them) drawn by a generator seeded with ``seed``;
    a record is held out for at most one task."""
    rng = np.random.default_rng(seed)
    held: dict[str, list[T]] = {}
    taken: set[int] = set()
    for task in tasks:
        pool = [i for i, r in enumerate(records) if getattr(r, task) is not None and i not in taken]
        n = min(sizes.get(task, 0), len(pool) // HOLDOUT_DIVISOR)
        pick = rng.choice(len(pool), n, replace=False) if n else []
        held[task] = [records[pool[j]] for j in pick]
        taken.update(pool[j] for j in pick)
    return [r for i, r in enumerate(records) if i not in taken], held


def leading_holdout(records: Sequence[T], n: int) -> tuple[list[T], list[T]]:
    """(the rest, the first ``n`` records): at most a fifth of ``records``."""
    n_hold = min(n, len(records) // HOLDOUT_DIVISOR)
    return list(records[n_hold:]), list(records[:n_hold])


def cluster_of(record_id: str) -> str:
    """A record's story cluster: its id without the last part ("vims/Cluster_053/354" ->
    "vims/Cluster_053"); an id of fewer parts is its own cluster."""
    return record_id.rsplit("/", 1)[0] if record_id.count("/") >= 2 else record_id


def in_dev_cluster(cluster: str) -> bool:
    """The dev half of the clusters: those whose name (the last part: "Cluster_053" of
    "vims/Cluster_053") has an even SHA-1. Fixed: the same on every run and machine."""
    name = cluster.rsplit("/", 1)[-1]
    return int(hashlib.sha1(name.encode("utf-8")).hexdigest(), 16) % 2 == 0


def cluster_halves(records: Sequence[Record]) -> tuple[list[Record], list[Record]]:
    """(dev half, held-out half) of clustered records, whole clusters on one side."""
    dev = [r for r in records if in_dev_cluster(cluster_of(r.id))]
    held = [r for r in records if not in_dev_cluster(cluster_of(r.id))]
    return dev, held


# DANeS topics that name one type label (VNTC's ten); the others (Covid-19, Hóng biến, Môi
# trường, Giáo dục, Du lịch, Giao thông) name none and are not read.
DANES_TOPIC_TYPES = {
    "Thể thao": "Thể thao", "Thế giới": "Thế giới", "Pháp luật": "Pháp luật", "Sức khỏe": "Sức khỏe",
    "Công nghệ": "Công nghệ", "Game": "Công nghệ", "Khoa học": "Khoa học",
    "Kinh tế": "Kinh doanh", "Chứng khoán": "Kinh doanh", "Bất động sản": "Kinh doanh",
    "Văn hóa": "Văn hóa", "Giải trí": "Văn hóa", "Phim ảnh": "Văn hóa", "Đời sống": "Đời sống",
    "Chính trị": "Chính trị - Xã hội", "Xã hội": "Chính trị - Xã hội",
}


def danes_type_proxy(records: Sequence[Record]) -> list[Record]:
    """The DANeS records whose topics name exactly one type label, with that label as their
    type: headline + lead articles from 266 web hosts of the Covid years, which no type head
    trains on (the type data is VNTC's four outlets of 2005-07 and two outlets of 2022-24). A proxy for
    the articles of other outlets and years a newsroom will send: its labels are topics mapped
    by hand, so it ranks candidate recipes against each other; it is no accuracy to report."""
    out = []
    for r in records:
        types = {DANES_TOPIC_TYPES[t] for t in r.topics or [] if t in DANES_TOPIC_TYPES}
        if len(types) == 1:
            out.append(replace(r, type=types.pop()))
    return out
