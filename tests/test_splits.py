"""training/splits.py: the held-out records (dev splits, holdouts), and the trainers' shared sampling."""
from __future__ import annotations

import random

import numpy as np
import pytest

from training.common import sample_records, topic_matrix
from training.data import Record
from training.splits import HOLDOUT_DIVISOR, danes_type_proxy, dev_split, hashed_holdout, in_dev, leading_holdout, task_holdout


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


# --- the holdouts the trainers and the registry carve ---------------------------------------------
def _labelled(n: int) -> list[Record]:
    """Records labelled for type (all), topics (every third) and summary (every fourth)."""
    return [Record(id=f"r{i}", text=f"bài {i}", type="A" if i % 2 else "B",
                   topics=("T",) if i % 3 == 0 else None, summary="tóm tắt" if i % 4 == 0 else None) for i in range(n)]


def test_hashed_holdout_takes_the_share_of_each_task_whatever_the_order():
    records = _labelled(300)
    shares = {"type": (0.1, 1000), "topics": (0.5, 7), "summary": (0.0, 10)}
    train, held = hashed_holdout(records, lambda r: r.text, shares)
    assert sum(r.topics is not None for r in held) >= 7 and sum(r.type is not None for r in held) >= 30
    assert {r.id for r in train}.isdisjoint(r.id for r in held) and len(train) + len(held) == len(records)
    _, held_reversed = hashed_holdout(records[::-1], lambda r: r.text, shares)
    assert {r.id for r in held_reversed} == {r.id for r in held}
    assert {r.id for r in hashed_holdout(records, lambda r: r.text, shares, seed=1)[1]} != {r.id for r in held}


def test_task_holdout_holds_a_record_out_for_one_task_at_most_and_never_more_than_a_fifth():
    records = _labelled(100)
    train, held = task_holdout(records, ("type", "topics", "summary"), {"type": 50, "topics": 3}, seed=0)
    assert len(held["type"]) == 100 // HOLDOUT_DIVISOR and len(held["topics"]) == 3 and held["summary"] == []
    ids = [r.id for part in held.values() for r in part]
    assert len(ids) == len(set(ids)) and not set(ids) & {r.id for r in train} and len(train) + len(ids) == 100
    assert task_holdout(records, ("type", "topics"), {"type": 50, "topics": 3}, seed=0)[1]["type"] == held["type"]


def test_leading_holdout_is_the_first_records_up_to_a_fifth():
    records = _labelled(20)
    assert leading_holdout(records, 3) == (records[3:], records[:3])
    assert leading_holdout(records, 100) == (records[4:], records[:4])
    assert leading_holdout(records[:4], 2) == (records[:4], [])


# --- the trainers' shared helpers (training/common.py) ----------------------------------------------
def test_sample_records_keeps_every_preferred_record_and_samples_the_rest():
    records = _labelled(50)
    plain = sample_records(records, 10, np.random.default_rng(0))
    assert len(plain) == 10 and plain == sorted(plain, key=records.index)  # file order
    assert plain == sample_records(records, 10, np.random.default_rng(0), preferred=[])
    preferred = [r for r in records if r not in plain][:4]
    kept = sample_records(records, 10, np.random.default_rng(0), preferred=preferred)
    assert len(kept) == 10 and kept[:4] == preferred and len({id(r) for r in kept}) == 10
    outsider = Record(id="r1", text="bài 1", type="A")  # equal to a record, but not one of them
    assert sample_records(records, 10, np.random.default_rng(0), preferred=[outsider]) == plain
    assert sample_records(records, 3, np.random.default_rng(0), preferred=records[-5:]) == records[-5:-2]
    assert sample_records(records, 60, np.random.default_rng(0)) == records


def test_topic_matrix_marks_known_topics_and_ignores_the_rest():
    Y = topic_matrix([("b", "x"), None, ("a", "b")], ["a", "b"])
    assert Y.tolist() == [[0, 1], [0, 0], [1, 1]] and Y.dtype == np.dtype(int)
    assert topic_matrix([("a",)], ["a", "b"], np.float32).dtype == np.float32


def test_cluster_halves_keep_every_cluster_on_one_side_and_never_move():
    from training.splits import cluster_halves, cluster_of

    records = [Record(id=f"vims/Cluster_{c:03d}/{i}", text="x") for c in range(60) for i in range(c % 4 + 1)]
    dev, held = cluster_halves(records)
    assert len(dev) + len(held) == len(records)
    dev_clusters, held_clusters = {cluster_of(r.id) for r in dev}, {cluster_of(r.id) for r in held}
    assert not dev_clusters & held_clusters
    assert 15 < len(dev_clusters) < 45  # about half the clusters
    assert cluster_of("vims/Cluster_007/3") == "vims/Cluster_007" and cluster_of("x1") == "x1"
    shuffled = records[::-1]
    assert {r.id for r in cluster_halves(shuffled)[0]} == {r.id for r in dev}  # not by position


def test_the_danes_proxy_keeps_the_records_whose_topics_name_one_type():
    records = [Record(id="danes/1", text="a", topics=["Thể thao"]),
               Record(id="danes/2", text="b", topics=["Kinh tế", "Chứng khoán"]),  # both: Kinh doanh
               Record(id="danes/3", text="c", topics=["Covid-19", "Sức khỏe"]),  # Covid-19 names no type
               Record(id="danes/4", text="d", topics=["Thể thao", "Pháp luật"]),  # two types: left out
               Record(id="danes/5", text="e", topics=["Covid-19"]),  # no type: left out
               Record(id="danes/6", text="f", topics=None)]
    proxy = danes_type_proxy(records)
    assert [(r.id, r.type) for r in proxy] == [("danes/1", "Thể thao"), ("danes/2", "Kinh doanh"), ("danes/3", "Sức khỏe")]
    assert records[0].type is None  # the records read are left as they were
