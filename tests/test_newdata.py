"""training/newdata.py: the held-out slice of a retrain's new data, the paired test that the
gate applies to it, and sample weights for the new records in both model kinds."""
from __future__ import annotations

import math
import random
from types import SimpleNamespace

import pytest

from conftest import BUSINESS, SPORTS, make_records, small_params
import numpy as np

from model.features import TfidfFeatures, analysis_text
from training.baseline import fit_baseline, fit_linear, fit_nb_linear
from training.data import Record
from training.newdata import Gain, gate_reasons, new_data_slice, paired_gains
from training.registry import record_key


def _records(label: str, n: int, prefix: str = "r") -> list[Record]:
    return [Record(id=f"{prefix}-{label}-{i}", text=f"{label} bài số {i} {prefix}", type=label) for i in range(n)]


def test_slice_is_a_fifth_per_label_at_least_one_and_never_a_lone_record():
    records = _records("A", 100) + _records("B", 7) + _records("C", 2) + _records("D", 1)
    train, held = new_data_slice(records, record_key)
    counts = {l: sum(r.type == l for r in held) for l in "ABCD"}
    assert counts == {"A": 20, "B": 1, "C": 1, "D": 0}
    assert len(train) + len(held) == len(records)
    assert not {record_key(r) for r in train} & {record_key(r) for r in held}


def test_slice_is_the_same_in_any_order_and_keeps_duplicates_together():
    records = _records("A", 50)
    records += [Record(id="copy", text=records[0].text, type="A")]  # the same article again
    shuffled = records[:]
    random.Random(3).shuffle(shuffled)
    held_a = {record_key(r) for r in new_data_slice(records, record_key)[1]}
    held_b = {record_key(r) for r in new_data_slice(shuffled, record_key)[1]}
    assert held_a == held_b
    train, _ = new_data_slice(records, record_key)
    assert sum(record_key(r) == record_key(records[0]) for r in train) in (0, 2)


def _pred(label: str):
    return SimpleNamespace(type=SimpleNamespace(label=label, scores={label: 0.9}),
                           topics=SimpleNamespace(labels=[]), summary=SimpleNamespace(text=""))


def test_the_candidate_beats_only_on_a_significant_paired_gain():
    records = _records("Giáo dục", 40)
    truth = [r.type for r in records]
    learnt = paired_gains(records, [_pred("X")] * 40, [_pred(t) for t in truth])
    assert learnt[0].beats and math.isinf(learnt[0].z) and gate_reasons(learnt) == []
    # Shuffled labels: both right by chance on some records, neither significantly.
    rng = random.Random(0)
    noise = paired_gains(records, [_pred(rng.choice([truth[0], "X"])) for _ in records],
                         [_pred(rng.choice([truth[0], "X"])) for _ in records])
    assert not noise[0].beats
    (reason,) = gate_reasons(noise)
    assert reason.startswith("does not beat the current model on the held-out new data")
    assert "type accuracy on 40 held-out new article(s)" in reason


def test_a_significant_loss_on_any_task_blocks_the_candidate():
    gains = [Gain("type", "accuracy", 50, 0.5, 0.9, 5.0), Gain("topics", "record F1", 50, 0.8, 0.4, -4.0)]
    reasons = gate_reasons(gains)
    assert len(reasons) == 1 and reasons[0].startswith("worse on the new data: topics record F1")
    assert gate_reasons([]) == []  # no new labelled records: nothing to judge on


def test_new_weight_lets_one_new_label_outweigh_old_ones_on_the_same_text():
    # The same article, filed as sports 4 times in old data and as business once in new data.
    text = "Giải đấu mùa này có nhà tài trợ mới và doanh thu bản quyền truyền hình tăng mạnh."
    typed = [r for r in make_records() if r.type] + [Record(id=f"old-{i}", text=text, type=SPORTS) for i in range(4)]
    typed.append(Record(id="new", text=text, type=BUSINESS))
    features, X = TfidfFeatures.fit_transform([analysis_text(r.text) for r in typed], small_params().tfidf)
    y = np.array([r.type for r in typed])
    labels = sorted(set(y))
    weight = np.ones(len(y))
    weight[-1] = 10.0
    query = features.transform([analysis_text(text)])
    for fit in (fit_linear, fit_nb_linear):  # both scorers of the type head
        for w, expected in ((None, SPORTS), (weight, BUSINESS)):
            W, b = fit(X, y, labels, small_params(), w)
            assert labels[int(np.argmax(query @ W.T + b))] == expected, (fit.__name__, w is not None)


def test_fit_baseline_weights_the_preferred_records_in_every_head(monkeypatch):
    import training.baseline as tb

    seen = {}
    for name in ("fit_routed_type_head", "fit_topics_head"):
        real = getattr(tb, name)

        def spy(*args, _real=real, _name=name, **kwargs):
            seen[_name] = args[-1]  # the sample weights, the last positional argument
            return _real(*args, **kwargs)

        monkeypatch.setattr(tb, name, spy)
    records = make_records()
    new = [r for r in records if r.id.endswith("-0")]  # one per label and task
    fit_baseline(records, small_params(), progress=False, preferred=new, preferred_weight=4.0)
    typed = [r for r in records if r.type]
    assert list(seen["fit_routed_type_head"]) == [4.0 if r in new else 1.0 for r in typed]
    assert sorted(set(seen["fit_topics_head"])) == [1.0, 4.0]
    seen.clear()
    fit_baseline(records, small_params(), progress=False, preferred=new)  # weight 1: as if not preferred
    assert seen["fit_routed_type_head"] is None and seen["fit_topics_head"] is None


def test_the_transformer_repeats_and_never_holds_out_preferred_records():
    pytest.importorskip("torch")
    import training.transformer as tt
    from training.config import TransformerParams

    records = [Record(id=f"r{i}", text=f"bài {i}", type=SPORTS if i % 2 else BUSINESS) for i in range(100)]
    new = records[:5]
    params = TransformerParams(holdout={"type": 20, "topics": 0, "summary": 0})
    train, held = tt.split_task_holdout(records, params, preferred=new)
    held_ids = {id(r) for rs in held.values() for r in rs}
    assert held["type"] and not held_ids & {id(r) for r in new}
    assert all(any(t is r for t in train) for r in new)
    rows = tt.repeat_preferred(records, new, 3.0)
    assert len(rows) == len(records) + 2 * 5 and sum(r is new[0] for r in rows) == 3
    assert tt.repeat_preferred(records, new, 1.0) is records


def test_short_views_are_headline_and_first_paragraph_of_typed_full_texts():
    from training.newdata import short_views

    full = Record(id="a", title="Tuyển sinh 2025", text="Bộ công bố phương án.\nThí sinh đăng ký.\nĐiểm chuẩn.",
                  type="Giáo dục", source="news/education", topics=("Giáo dục",))
    pasted = Record(id="b", text="Tuyển sinh đại học\nBộ công bố phương án tuyển sinh.\nThí sinh đăng ký nguyện vọng.",
                    type="Giáo dục")
    short = [Record(id="c", text="Chỉ một đoạn.", type="Giáo dục"), Record(id="d", text="Hai\nđoạn.")]
    views = short_views([full, pasted, *short])
    assert [(v.id, v.title, v.text, v.type, v.topics) for v in views] == [
        ("a#lead", "Tuyển sinh 2025", "Bộ công bố phương án.", "Giáo dục", None),
        ("b#lead", "Tuyển sinh đại học", "Bộ công bố phương án tuyển sinh.", "Giáo dục", None),  # pasted headline split off
    ]
    assert views[0].source == "news/education"
