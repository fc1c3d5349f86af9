"""training/splits.py: fixed dev splits chosen by a hash of the record id."""
from __future__ import annotations

import random

import pytest

from training.data import Record
from training.splits import dev_split, in_dev


def _records(n: int) -> list[Record]:
    return [Record(id=f"src/{i}", text=f"bài {i}") for i in range(n)]


def test_the_dev_part_has_about_the_share_asked_for_and_no_record_twice():
    records = _records(4000)
    fit, dev = dev_split(records, 0.15)
    assert abs(len(dev) / len(records) - 0.15) < 0.02
    assert {r.id for r in fit}.isdisjoint(r.id for r in dev) and len(fit) + len(dev) == len(records)


def test_a_record_stays_on_its_side_when_the_file_is_reordered_or_grows():
    records = _records(1000)
    _, dev = dev_split(records, 0.2)
    shuffled = records[:] + _records(1500)[1000:]
    random.Random(1).shuffle(shuffled)
    _, dev2 = dev_split(shuffled, 0.2)
    assert {r.id for r in dev} <= {r.id for r in dev2}
    assert in_dev("src/1", 0.2, salt="a") == in_dev("src/1", 0.2, salt="a")


@pytest.mark.parametrize("share", [-0.1, 1.0, 2])
def test_a_share_outside_zero_to_one_is_refused(share):
    with pytest.raises(ValueError, match="share must be in"):
        dev_split(_records(3), share)
