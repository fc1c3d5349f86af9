"""What a retrain's new data teaches, judged on a slice of it that the candidate never sees.

- ``new_data_slice``: a seeded share of the new records (at least one of each new label that
  has two or more), held out of that retrain.
- ``paired_gains``: current and candidate scored record by record on the slice (type: right
  or wrong; topics: the record's F1; summary: its ROUGE-1). The candidate *beats* the current
  model when the mean gain on some task is positive and significant (one-sided, 5%) and no
  task is significantly worse. Data that teaches nothing, or noise, gains nothing there.
- ``label_report``: precision and recall per type label on the slice, new labels first.
- ``conflicts``: how the current model reads each new label's articles, and how many old
  training articles look like them (by the model's own TF-IDF features).
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from model.features import analysis_text
from model.text import read_article

from .data import Record
from .metrics import rouge_per_pair
from .splits import hashed

# The share of the new records held out of each retrain, and the salt of its hash.
NEW_HOLDOUT_SHARE = 0.2
NEW_HOLDOUT_SALT = "newslens-new-data-v1"
# One-sided 5% (normal approximation to the paired test): a gain must be this many standard
# errors above zero to count as one, and a loss as many below to count as a loss.
Z_SIGNIFICANT = 1.645
# "High confidence" when the current model reads a new label's article as an old label.
CONFIDENT = 0.8
# Conflicts: the share of the new label's held-out articles that must reach a similarity for
# an old article at least that similar to count as "looking like them".
LOOKALIKE_QUANTILE = 0.1
# Old training articles compared with them, at most (a seeded sample; counts are scaled up).
LOOKALIKE_SAMPLE = 8000


def stratum(r: Record) -> str:
    if r.type is not None:
        return f"type:{r.type}"
    if r.topics:
        return f"topics:{r.topics[0]}"
    return "summary" if r.summary is not None else "other"


def new_data_slice(records: Sequence[Record], key: Callable[[Record], str], share: float = NEW_HOLDOUT_SHARE,
                   seed: int = 0) -> tuple[list[Record], list[Record]]:
    """(records to train on, held-out slice) of a retrain's new records.

    Per stratum (a type label, else the first topic, else summaries): ``max(1, share * n)``
    records when it has two or more, ranked by a hash of their content, so the slice is the
    same on every run. A stratum of one record is trained on: holding it out would leave the
    candidate unable to learn its label. Records with the same content go together.
    """
    groups: dict[str, list[Record]] = {}
    for r in {key(r): r for r in records}.values():
        groups.setdefault(stratum(r), []).append(r)
    held: set[str] = set()
    for members in groups.values():
        if len(members) < 2:
            continue
        members.sort(key=lambda r: hashed(f"{NEW_HOLDOUT_SALT}:{seed}", key(r)))
        held.update(key(r) for r in members[: max(1, int(share * len(members)))])
    train = [r for r in records if key(r) not in held]
    slice_ = list({key(r): r for r in records if key(r) in held}.values())
    return train, slice_


def short_views(records: Sequence[Record]) -> list[Record]:
    """Each typed full text as a feed or an alert gives it: its headline and first paragraph
    only, with the same type (and no other label). New labels then come with both input
    shapes the model answers, not only the one the newsroom happened to label."""
    out = []
    for r in records:
        if r.type is None:
            continue
        article = read_article(r.text, r.title)
        paragraphs = [p.strip() for p in article.body.split("\n") if p.strip()]
        if len(paragraphs) < 2:
            continue  # already short
        out.append(Record(id=f"{r.id}#lead" if r.id else None, source=r.source, title=article.title,
                          text=paragraphs[0], type=r.type))
    return out


# --- paired comparison ---------------------------------------------------------------------
@dataclass
class Gain:
    """One task on the held-out new records: the two models' means and the paired test."""

    task: str
    metric: str
    n: int
    current: float
    candidate: float
    z: float  # mean gain / its standard error (inf when every record gains the same)

    @property
    def beats(self) -> bool:
        return self.candidate > self.current and self.z >= Z_SIGNIFICANT

    @property
    def worse(self) -> bool:
        return self.candidate < self.current and -self.z >= Z_SIGNIFICANT

    def describe(self) -> str:
        z = "all records alike" if math.isinf(self.z) else f"z = {self.z:+.2f}"
        return (f"{self.task} {self.metric} on {self.n} held-out new article(s): current {self.current:.3f}, "
                f"candidate {self.candidate:.3f} ({z})")


def _z(gains: np.ndarray) -> float:
    mean = float(gains.mean())
    se = float(gains.std(ddof=1) / math.sqrt(len(gains))) if len(gains) > 1 else 0.0
    if se == 0.0:
        return 0.0 if mean == 0.0 else math.copysign(math.inf, mean)
    return mean / se


def _set_f1(truth: Sequence[str], pred: Sequence[str]) -> float:
    t, p = set(truth), set(pred)
    if not t and not p:
        return 1.0
    hit = len(t & p)
    return 2 * hit / (len(t) + len(p)) if hit else 0.0


def per_record_scores(records: Sequence[Record], preds: Sequence[Any]) -> dict[tuple[str, str], np.ndarray]:
    """{(task, metric): one score per labelled record}, for the tasks the records label."""
    out: dict[tuple[str, str], np.ndarray] = {}
    typed = [(r, p) for r, p in zip(records, preds) if r.type is not None]
    if typed:
        out[("type", "accuracy")] = np.array([float(p.type.label == r.type) for r, p in typed])
    topical = [(r, p) for r, p in zip(records, preds) if r.topics is not None]
    if topical:
        out[("topics", "record F1")] = np.array([_set_f1(r.topics, p.topics.labels) for r, p in topical])
    summarised = [(r, p) for r, p in zip(records, preds) if r.summary is not None]
    if summarised:
        rows = rouge_per_pair([p.summary.text for _, p in summarised], [r.summary for r, _ in summarised])
        out[("summary", "rouge1")] = np.array([row[0] for row in rows])
    return out


def paired_gains(records: Sequence[Record], current_preds: Sequence[Any], candidate_preds: Sequence[Any]) -> list[Gain]:
    cur, cand = per_record_scores(records, current_preds), per_record_scores(records, candidate_preds)
    gains = []
    for (task, metric), a in cur.items():
        b = cand[(task, metric)]
        gains.append(Gain(task, metric, len(a), float(a.mean()), float(b.mean()), _z(b - a)))
    return gains


def gate_reasons(gains: list[Gain]) -> list[str]:
    """Why the candidate may not be promoted on the held-out new records (empty: it may)."""
    if not gains:
        return []
    reasons = [f"worse on the new data: {g.describe()}" for g in gains if g.worse]
    if not any(g.beats for g in gains):
        reasons.append("does not beat the current model on the held-out new data, so the new data taught it "
                       "nothing that carries to articles it did not see: "
                       + "; ".join(g.describe() for g in gains))
    return reasons


# --- per-label precision and recall ---------------------------------------------------------
@dataclass
class LabelScore:
    label: str
    new: bool
    n: int  # held-out new articles with this label
    current: tuple[float | None, float | None]  # (precision, recall); None where undefined
    candidate: tuple[float | None, float | None]


def _precision_recall(truth: list[str], pred: list[str], label: str) -> tuple[float | None, float | None]:
    said = sum(p == label for p in pred)
    real = sum(t == label for t in truth)
    hit = sum(t == label and p == label for t, p in zip(truth, pred))
    return (hit / said if said else None), (hit / real if real else None)


def label_report(records: Sequence[Record], current_preds: Sequence[Any], candidate_preds: Sequence[Any],
                 new_labels: set[str]) -> list[LabelScore]:
    """Type precision and recall per label of the held-out new records: new labels first, then by count."""
    typed = [i for i, r in enumerate(records) if r.type is not None]
    truth = [records[i].type for i in typed]
    cur = [current_preds[i].type.label for i in typed]
    cand = [candidate_preds[i].type.label for i in typed]
    counts = Counter(truth)
    order = sorted(counts, key=lambda l: (l not in new_labels, -counts[l], l))
    return [LabelScore(l, l in new_labels, counts[l], _precision_recall(truth, cur, l), _precision_recall(truth, cand, l))
            for l in order]


def render_label_report(rows: list[LabelScore]) -> str:
    def pr(v: tuple[float | None, float | None]) -> str:
        return " / ".join("-" if x is None else f"{x:.2f}" for x in v)

    lines = [f"{'label (held-out new)':30} {'n':>4} {'current P / R':>15} {'candidate P / R':>17}"]
    for row in rows:
        name = f"{row.label} (new)" if row.new else row.label
        lines.append(f"{name:30} {row.n:>4} {pr(row.current):>15} {pr(row.candidate):>17}")
    return "\n".join(lines)


# --- conflicts -----------------------------------------------------------------------------
@dataclass
class Conflict:
    """How the current model reads the articles of one label of the new data."""

    label: str
    new: bool
    n: int
    read_as: str  # the label the current model gives most of them
    share: float  # of the n articles read as ``read_as``
    confident_share: float  # of the n read as ``read_as`` with probability >= CONFIDENT
    lookalikes: int | None = None  # old training articles that look like them (estimated)
    lookalike_labels: dict[str, int] = field(default_factory=dict)
    threshold: float | None = None  # the similarity that defines "looks like"
    sampled: int | None = None  # old articles compared (a sample when there are more)

    def describe(self) -> str:
        text = (f"{self.n} '{self.label}' article(s): the current model reads {self.share:.0%} of them as "
                f"'{self.read_as}' ({self.confident_share:.0%} with probability >= {CONFIDENT:.1f})")
        if self.lookalikes is not None:
            top = ", ".join(f"'{l}' {n:,}" for l, n in sorted(self.lookalike_labels.items(), key=lambda x: -x[1])[:3])
            text += (f"; about {self.lookalikes:,} old training article(s) look like them (cosine >= {self.threshold:.3f}, "
                     f"which 90% of the held-out '{self.label}' articles reach; from {self.sampled:,} compared)"
                     + (f": {top}" if top else ""))
        return text


def conflicts(records: Sequence[Record], preds: Sequence[Any], known_types: set[str]) -> list[Conflict]:
    """Per type label of the new data, where the current model reads most of its articles as
    another label: always for a new label (the model cannot say it), for a known label only
    when the disagreement is confident."""
    by_label: dict[str, list[Any]] = {}
    for r, p in zip(records, preds):
        if r.type is not None:
            by_label.setdefault(r.type, []).append(p)
    out = []
    for label, ps in sorted(by_label.items(), key=lambda x: -len(x[1])):
        readings = Counter(p.type.label for p in ps if p.type.label != label)
        if not readings:
            continue
        read_as, n_as = readings.most_common(1)[0]
        confident = sum(p.type.label == read_as and p.type.scores.get(read_as, 0.0) >= CONFIDENT for p in ps)
        new = label not in known_types
        if new or confident / len(ps) >= 0.5:
            out.append(Conflict(label, new, len(ps), read_as, n_as / len(ps), confident / len(ps)))
    return out


def _matrix(features, records: Sequence[Record]):
    """The TF-IDF rows (L2-normalised) of ``records``, read as the predictor reads articles."""
    return features.transform([analysis_text(a.body, a.title) for a in (read_article(r.text, r.title) for r in records)])


def lookalike_rule(features, label_fit: Sequence[Record], label_held: Sequence[Record]) -> tuple[np.ndarray, float]:
    """(centre, threshold): the normalised mean TF-IDF vector of a label's training articles,
    and the cosine to it that 90% of its held-out articles reach (the threshold is chosen on
    data the centre did not see)."""
    centre = np.asarray(_matrix(features, label_fit).mean(axis=0)).ravel()
    centre /= max(float(np.linalg.norm(centre)), 1e-12)
    return centre, float(np.quantile(_matrix(features, label_held) @ centre, LOOKALIKE_QUANTILE))


def lookalikes(features, centre: np.ndarray, threshold: float, old: Sequence[Record]) -> np.ndarray:
    """A mask of the ``old`` articles at least ``threshold`` close to ``centre``."""
    return np.asarray(_matrix(features, old) @ centre).ravel() >= threshold if old else np.zeros(0, bool)


def count_lookalikes(conflict: Conflict, features, label_fit: Sequence[Record], label_held: Sequence[Record],
                     old: Sequence[Record], rng: np.random.Generator) -> Conflict:
    """Fill in how many ``old`` typed training articles look like the label's articles
    (``lookalike_rule``). ``old`` is sampled down to ``LOOKALIKE_SAMPLE``; counts are scaled up."""
    if not label_fit or not label_held or not old:
        return conflict
    centre, threshold = lookalike_rule(features, label_fit, label_held)
    pick = np.sort(rng.choice(len(old), LOOKALIKE_SAMPLE, replace=False)) if len(old) > LOOKALIKE_SAMPLE \
        else np.arange(len(old))
    sample = [old[i] for i in pick]
    close = lookalikes(features, centre, threshold, sample)
    scale = len(old) / len(sample)
    labels = Counter(r.type for r, c in zip(sample, close) if c)
    conflict.lookalikes = int(round(close.sum() * scale))
    conflict.lookalike_labels = {l: int(round(n * scale)) for l, n in labels.items()}
    conflict.threshold = threshold
    conflict.sampled = len(sample)
    return conflict


def options_text(new_weight: float) -> str:
    return ("Options: weight the new articles more (--new-weight, now "
            f"{new_weight:g}); relabel the old articles that look like them (--relabel-similar); "
            "or keep the taxonomy (--labels current).")
