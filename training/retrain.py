"""Retraining on new labelled data without ever serving a broken or worse model.

1. validate the new files (stop on any problem, before training) and report what they add,
   including how the current model reads their labels (``newdata.conflicts``);
2. hold out a seeded slice of the new records (``newdata.new_data_slice``), then train a
   candidate on the current model's training data plus the rest of the new data, each new
   record weighted ``new_weight`` times;
3. evaluate candidate and current on the registry's holdout (the fixed one and the slices
   that earlier promoted retrains held out), task by task, and on the held-out new records;
4. promote only if no task got worse beyond the tolerance on the holdout *and* the candidate
   beats the current model on the held-out new records (``force`` overrides, recorded). The
   slice then joins the registry's holdout.

The candidate is built in a staging folder and registered by an atomic rename; ``current``
moves by an atomic file replace. A crash at any point leaves the old model serving.
"""
from __future__ import annotations

import logging
import shutil
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from model.baseline import BaselineModel
from model.predictor import Predictor
from model.summary import FEATURE_NAMES

from .baseline import WARM_MAX_GROWTH
from .config import TrainConfig, _build
from .data import Record
from .evaluate import evaluate, predict_records
from .metrics import TASK_METRICS
from .newdata import (Conflict, Gain, LabelScore, conflicts, count_lookalikes, gate_reasons, label_report,
                      lookalike_rule, lookalikes, new_data_slice, options_text, paired_gains, render_label_report,
                      short_views)
from .relabels import apply_relabels, read_relabels, write_relabels
from .registry import Registry, RegistryError, Version, add_watched_slice, record_key, watched_slices
from .report import write_report
from .train import apply_holdout, check_ready, fit_and_save, read_files

log = logging.getLogger("newslens.retrain")

# The smallest drop of a holdout metric that blocks a promotion, unless the metric's sampling
# noise on the holdout is larger (``allowed_drop``): half a point of accuracy, F1 or ROUGE.
# The CLI's --tolerance default says the same.
DEFAULT_TOLERANCE = 0.005
# How many times each new record counts in the candidate's training loss (the CLI's
# --new-weight default says the same). Chosen by bench/retrain_dev.py on training data only
# (a fresh dev split of education articles, false alarms on the fixed holdout): of 3, 5, 7 and
# 10, 7 has the best F1 (README, "Retraining that learns").
DEFAULT_NEW_WEIGHT = 7.0
# That weight was chosen with 200 new articles, of which a retrain trains on 160 (the rest is
# its held-out slice): together they count as 1,120 old articles. A larger batch keeps that
# total (weight 1,120 / n, never under 1): 1,000 education articles at weight 10 counted as
# 8,000 and were over-called (test precision 0.61; README, "Retraining that learns").
AUTO_WEIGHT_TOTAL = DEFAULT_NEW_WEIGHT * 160


def auto_new_weight(n_trained: int) -> float:
    """The default weight of each new record when ``n_trained`` new records are trained on."""
    return max(1.0, min(DEFAULT_NEW_WEIGHT, AUTO_WEIGHT_TOTAL / max(n_trained, 1)))


@dataclass
class DataReport:
    """What a batch of new data brings, shown before any training starts."""

    files: list[str]
    records: int
    per_task: dict[str, int]
    label_counts: dict[str, dict[str, int]]
    new_labels: dict[str, list[str]]
    duplicates_of_existing: int
    duplicates_within: int
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    dropped_labels: dict[str, int] = field(default_factory=dict)
    readings: list[Conflict] = field(default_factory=list)  # how the current model reads the new labels
    new_weight: float = 1.0
    relabels: dict[str, Any] = field(default_factory=dict)  # label changes in force, made or undone
    summary_kept_from: str | None = None  # the version whose summary scorer the candidate keeps
    # Of the duplicates of existing training data, those that bring a label their existing copy
    # lacks (an untyped article now typed, a summary added): not repeats, new labels.
    duplicates_adding_labels: int = 0
    # Parts the candidate kept from the current model because the new data cannot change them
    # ("vocabulary", "archive type head", "topic context"); known once it is fitted.
    kept_from_current: list[str] = field(default_factory=list)

    def render(self) -> str:
        lines = [f"New data: {self.records} article(s) from {', '.join(self.files)}"]
        lines.append("  labelled: " + ", ".join(f"{t} {n}" for t, n in self.per_task.items()))
        for task, counts in self.label_counts.items():
            if counts:
                top = ", ".join(f"{l} {n}" for l, n in sorted(counts.items(), key=lambda x: -x[1])[:12])
                lines.append(f"  {task} labels: {top}")
        for task, labels in self.new_labels.items():
            if labels:
                lines.append(f"  NOTICE: new {task} label(s) not known to the current model: {', '.join(labels)} "
                             "(the label set will grow; use --labels current to keep the taxonomy fixed)")
        for task, n in self.dropped_labels.items():
            if n:
                lines.append(f"  {n} {task} label(s) outside the fixed taxonomy were ignored (--labels)")
        adding = (f" ({self.duplicates_adding_labels} of them bring a label their existing copy lacks)"
                  if self.duplicates_adding_labels else "")
        lines.append(f"  duplicates of existing training data: {self.duplicates_of_existing}{adding}; "
                     f"repeated within the new data: {self.duplicates_within}")
        if self.conflicts:
            lines.append(f"  CONFLICTS: {len(self.conflicts)} article(s) carry different labels for the same text:")
            for c in self.conflicts[:10]:
                lines.append(f"    {c['id']}: {c['task']} {c['labels']}")
        lines.append(f"  each new record counts {self.new_weight:g} times in training (--new-weight; by default 7, "
                     "less for a batch of more than 160 records trained on)")
        for c in self.readings:
            lines.append(f"  CONFLICT WITH THE CURRENT MODEL: {c.describe()}")
        if self.readings and not self.relabels.get("made"):
            lines.append(f"  {options_text(self.new_weight)}")
        if self.relabels.get("made"):
            made = self.relabels["made"]
            by = ", ".join(f"'{l}' {n:,}" for l, n in sorted(made["from"].items(), key=lambda x: -x[1])[:4])
            lines.append(f"  RELABELLED {made['n']:,} old training article(s) as '{made['to']}' ({by}), kept as data in "
                         f"the registry (relabels/{made['file']}); the corpora are unchanged. Undo: --undo-relabels.")
        if self.relabels.get("applied"):
            lines.append(f"  {self.relabels['applied']:,} old article(s) carry labels changed by earlier retrains "
                         f"({', '.join(self.relabels['in_force'])}); --undo-relabels trains without them.")
        if self.relabels.get("undone"):
            lines.append(f"  UNDONE: the label changes of {', '.join(self.relabels['undone'])} are not applied to this candidate.")
        if self.summary_kept_from:
            lines.append(f"  summary scorer: kept from {self.summary_kept_from}, as the new data brings no summary "
                         "(--refit-all fits it again)")
        if self.kept_from_current:
            why = {"vocabulary": f"the articles differ by under {WARM_MAX_GROWTH:.0%} from those it was fitted on "
                                 "and it holds the new articles' words",
                   "archive type head": "the same archive records and settings",
                   "topic context": "the same archive records and settings"}
            kept = "; ".join(f"{part} ({why.get(part, 'unchanged inputs')})" for part in self.kept_from_current)
            lines.append(f"  kept from the current model: {kept} (--refit-all fits them again)")
        return "\n".join(lines)


@dataclass
class RetrainResult:
    candidate: Version
    current: str | None
    promoted: bool
    forced: bool
    reasons: list[str]
    comparison: dict[str, dict[str, dict[str, float | None]]]
    report: DataReport
    new_gains: list[Gain] = field(default_factory=list)  # on the held-out new records
    new_labels: list[LabelScore] = field(default_factory=list)
    new_held: int = 0  # new records held out of this retrain

    def table(self) -> str:
        rows = [f"{'task / metric':28} {'current':>9} {'candidate':>9} {'change':>8} {'allowed':>8}"]
        for task, metrics in self.comparison.items():
            for name, v in metrics.items():
                cur, cand = v["current"], v["candidate"]
                change = "" if cur is None or cand is None else f"{cand - cur:+.4f}"
                allowed = "" if v["allowed_drop"] is None else f"-{v['allowed_drop']:.4f}"
                rows.append(f"{task + ' ' + name:28} {_f(cur):>9} {_f(cand):>9} {change:>8} {allowed:>8}")
        if self.new_gains:
            rows.append("")
            rows.append(f"On the {self.new_held} held-out new article(s) (never trained on):")
            rows.extend(f"  {g.describe()}" + ("  BEATS" if g.beats else "  WORSE" if g.worse else "")
                        for g in self.new_gains)
        if self.new_labels:
            rows.append(render_label_report(self.new_labels))
        return "\n".join(rows)


def _f(x: float | None) -> str:
    return "-" if x is None else f"{x:.4f}"


def restrict_labels(records: list[Record], taxonomy: dict[str, set[str]]) -> tuple[list[Record], dict[str, int]]:
    """Drop labels outside a fixed taxonomy (the record stays, unlabelled for that task)."""
    dropped: Counter[str] = Counter()
    out = []
    for r in records:
        changes: dict[str, Any] = {}
        if r.type is not None and "type" in taxonomy and r.type not in taxonomy["type"]:
            changes["type"] = None
            dropped["type"] += 1
        if r.topics is not None and "topics" in taxonomy:
            kept = tuple(t for t in r.topics if t in taxonomy["topics"])
            if len(kept) != len(r.topics):
                dropped["topics"] += len(r.topics) - len(kept)
                changes["topics"] = kept or None
        out.append(replace(r, **changes) if changes else r)
    return out, dict(dropped)


def inspect_new_data(files: list[str], new: list[Record], existing: list[Record],
                     known_labels: dict[str, set[str]], dropped: dict[str, int]) -> DataReport:
    existing_keys = {record_key(r) for r in existing}
    seen: dict[str, Record] = {}
    within = 0
    conflicts = []
    for r in new:
        key = record_key(r)
        if key in seen:
            within += 1
            other = seen[key]
            for task in ("type", "topics"):
                a, b = getattr(r, task), getattr(other, task)
                if a is not None and b is not None and (set(a) if task == "topics" else a) != (set(b) if task == "topics" else b):
                    conflicts.append({"id": r.id, "task": task, "labels": [b, a]})
        else:
            seen[key] = r
    existing_by_key = {record_key(r): r for r in existing}
    for r in new:
        old = existing_by_key.get(record_key(r))
        if old is not None and r.type is not None and old.type is not None and r.type != old.type:
            conflicts.append({"id": r.id, "task": "type", "labels": [old.type, r.type]})
    label_counts = {
        "type": dict(Counter(r.type for r in new if r.type is not None)),
        "topics": dict(Counter(t for r in new if r.topics for t in r.topics)),
    }
    new_labels = {task: sorted(set(counts) - known_labels.get(task, set())) for task, counts in label_counts.items()}
    return DataReport(
        files=files,
        records=len(new),
        per_task={t: sum(getattr(r, t) is not None for r in new) for t in ("type", "topics", "tags", "summary")},
        label_counts=label_counts,
        new_labels=new_labels,
        duplicates_of_existing=sum(record_key(r) in existing_keys for r in new),
        duplicates_within=within,
        duplicates_adding_labels=sum(_adds_labels(r, existing_by_key.get(record_key(r))) for r in new),
        conflicts=conflicts,
        dropped_labels=dropped,
    )


def _adds_labels(new: Record, old: Record | None) -> bool:
    """Whether ``new`` (the same text as ``old``) carries a label that ``old`` lacks."""
    return old is not None and any(getattr(new, task) is not None and getattr(old, task) is None
                                   for task in ("type", "topics", "tags", "summary"))


def allowed_drop(value: float, n: int, tolerance: float) -> float:
    """The drop we accept: the tolerance, or the metric's sampling noise on n holdout articles
    (one standard error, sqrt(p(1-p)/n)) when that is larger. On a small holdout a change
    smaller than its noise says nothing about the model, and rejecting on it would make
    every retrain a coin toss."""
    return max(tolerance, float(np.sqrt(max(value * (1 - value), 0.0) / max(n, 1))))


def compare(current: dict[str, Any], candidate: dict[str, Any], tolerance: float) -> tuple[dict, list[str]]:
    """Per-task comparison and the reasons to reject (empty = promote)."""
    table: dict[str, dict[str, dict[str, float | None]]] = {}
    reasons = []
    # Every metric of the one task/metric schema gates a promotion (higher is better for all).
    for task, names in TASK_METRICS.items():
        cur, cand = current.get(task), candidate.get(task)
        if cur is None and cand is None:
            continue
        table[task] = {}
        for name in names:
            c = None if cur is None else cur[name]
            d = None if cand is None else cand[name]
            allowed = None if c is None else allowed_drop(c, cur["n"], tolerance)
            table[task][name] = {"current": c, "candidate": d, "allowed_drop": allowed}
            if c is not None and (d is None or d < c - allowed):
                reasons.append(f"{task} {name} would drop from {c:.4f} to {_f(d)} (allowed drop {allowed:.4f} "
                               f"on {cur['n']} holdout articles)")
    return table, reasons


def _known_labels(config: dict[str, Any]) -> dict[str, set[str]]:
    return {"type": set(config.get("type_labels") or []), "topics": set(config.get("topic_labels") or [])}


def retrain(
    files: list[str],
    registry: Registry | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    force: bool = False,
    labels: str | None = None,
    kind: str | None = None,
    progress: bool = True,
    new_weight: float | None = None,
    relabel_similar: bool = False,
    undo_relabels: bool = False,
    refit_all: bool = False,
) -> RetrainResult:
    """``kind``: the candidate's model kind (default: the current model's); ``new_weight``: how
    many times each new record counts in training (1 = like every other record; None:
    ``auto_new_weight``, 7 for up to 160 new records trained on, less for more);
    ``relabel_similar``: give each new type label to the old training articles that look like
    its articles (``relabels.py``); ``undo_relabels``: train without earlier label changes;
    ``refit_all``: fit every part again: the summary scorer even when the new data brings no
    summary (``kept_summary``), and the vocabulary and archive parts (``fit_baseline``'s
    ``warm_from``)."""
    if new_weight is not None and not (isinstance(new_weight, (int, float)) and 0 < new_weight <= 1000):
        raise ValueError(f"--new-weight must be a number in (0, 1000]; got {new_weight!r}.")
    registry = registry or Registry()
    current = registry.current()
    if current is None:
        raise RegistryError(f"no current model in {registry.home}: train one first with `newslens train`.")
    previous_files = previous_training_files(current, files)
    config = candidate_config(current, previous_files, files, kind)
    # Packages, base model and every data file, before anything is read or fitted.
    check_ready(config, [Path(f) for f in files] + previous_files)

    # 1. Read the data, the new files validated completely first, and report what they bring.
    new, new_prints, existing, prints, report = read_data(current, files, previous_files, labels, progress,
                                                          config.type_from_source)

    # 2. The registry's holdout (fixed, plus the slices earlier retrains held out) and a slice
    # of this retrain's new records stay out of training.
    records, holdout = apply_holdout(registry, existing + new, prints + new_prints)
    watched = watched_slices(registry)
    holdout = holdout + watched
    held = {record_key(r) for r in holdout}
    new_fit, new_held = new_data_slice([r for r in new if record_key(r) not in held], record_key, seed=config.baseline.seed)
    held |= {record_key(r) for r in new_held}
    records = [r for r in records if record_key(r) not in held]
    current_predictor = Predictor.load(current.path)
    if new_weight is None:
        new_weight = auto_new_weight(len(new_fit))
        log.info("new records: %d trained on, each counts %g times (--new-weight to choose)", len(new_fit), new_weight)
    report.new_weight = new_weight
    new_ids = {id(r) for r in new}
    old = [r for r in records if id(r) not in new_ids]
    report.readings = read_by_current(current_predictor, new_fit, new_held, old)
    in_force = [] if undo_relabels else list(current.info.get("relabels", []))
    if undo_relabels and current.info.get("relabels"):
        report.relabels["undone"] = list(current.info["relabels"])
    if relabel_similar:
        name = relabel_lookalikes(registry, current_predictor, report, new_fit, new_held, old)
        if name:
            in_force.append(name)
    if in_force:
        records, applied = apply_relabels(records, read_relabels(registry.home, in_force), record_key)
        report.relabels.update({"in_force": in_force, "applied": applied - report.relabels.get("made", {}).get("n", 0)})
    log.info("%s", report.render())

    summary_from = None if refit_all else kept_summary(current_predictor, current.config, config, new_fit, prints)
    report.summary_kept_from = current.name if summary_from is not None else None
    # Each new full text also as headline + first paragraph: the short shape feeds and alerts send.
    short = short_views(new_fit)
    records += short
    staging = registry.staging_dir()
    try:
        # A baseline candidate may keep the vocabulary and what is fitted on the archive alone.
        warm_from = None if refit_all or config.kind != "baseline" or not isinstance(current_predictor.model, BaselineModel) \
            else current_predictor.model
        model, staged = fit_and_save(records, config, staging / "bundle", prints + new_prints, progress, holdout,
                                 extra_meta={"retrained_from": current.name, "new_data": new_prints,
                                             "new_weight": new_weight, "new_held_out": len(new_held),
                                             "new_short_views": len(short),
                                             "summary_scorer_from": report.summary_kept_from},
                                 preferred=new_fit + short, preferred_weight=new_weight, summary_from=summary_from,
                                 warm_from=warm_from)
        report.kept_from_current = list(model.meta.get("training", {}).get("kept_from_current", []))
        # 3. Both models on the same holdout, and on the held-out new records.
        current_metrics, candidate_metrics, comparison, reasons = compare_on_holdout(
            staged, current, holdout, tolerance, progress)
        gains, label_rows = judge_new_data(current_predictor, Predictor.load(staged), new_held, report)
        reasons += gate_reasons(gains)
        promoted = force or not reasons
        write_report(staged, current, current_metrics, candidate_metrics, comparison, reasons, promoted, force, registry,
                     new_gains=gains, new_labels=label_rows)
        info = {"parent": current.name, "reason": "retrain", "status": "promoted" if promoted else "rejected",
                "forced": bool(force and reasons), "rejection_reasons": reasons, "tolerance": tolerance,
                "new_weight": new_weight, "new_data": [p["file"] for p in new_prints], "comparison": comparison,
                "new_held_out": len(new_held), "new_data_gains": [asdict(g) for g in gains], "relabels": in_force}
        version = registry.add(staged, info)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    # 4. Switch only now, atomically; the slice is watched from now on.
    if promoted:
        add_watched_slice(registry, version.name, new_held)
        registry.set_current(version.name, "retrain (forced)" if force and reasons else "retrain")
    return RetrainResult(version, current.name, promoted, bool(force and reasons), reasons, comparison, report,
                         gains, label_rows, len(new_held))


def kept_summary(current: Predictor, bundle_config: dict[str, Any], config: TrainConfig, new_fit: list[Record],
                 prints: list[dict[str, Any]]):
    """The current baseline model, when the candidate may keep its summary scorer: the candidate
    is a baseline, no new record it trains on carries a summary, every training file with
    summaries is the one the current model was trained on (same checksum), and the scorer reads
    the features this code computes (``summary_features``, recorded since bundles have it; an
    older bundle that loads has the same number of them). Else None."""
    model = current.model
    if config.kind != "baseline" or not isinstance(model, BaselineModel) or any(r.summary is not None for r in new_fit):
        return None
    if bundle_config.get("summary_features", list(FEATURE_NAMES)) != list(FEATURE_NAMES):
        return None
    trained_on = {p.get("sha256") for p in model.meta.get("data", {}).get("train", [])}
    with_summaries = [p for p in prints if p.get("labels", {}).get("summary")]
    if not with_summaries or any(p.get("sha256") not in trained_on for p in with_summaries):
        return None
    return model


def read_by_current(predictor: Predictor, new_fit: list[Record], new_held: list[Record],
                    existing: list[Record]) -> list[Conflict]:
    """How the current model reads the new type labels (``newdata.conflicts``), with the old
    training articles (``existing``) that look like each new label's."""
    new = new_fit + new_held
    if not any(r.type is not None for r in new):
        return []
    preds, _ = predict_records(predictor, [r for r in new if r.type is not None])
    found = conflicts([r for r in new if r.type is not None], preds, set(predictor.labels.types))
    features = _features(predictor)
    old = [r for r in existing if r.type is not None]
    rng = np.random.default_rng(0)
    for c in found:
        if c.new and features is not None:
            count_lookalikes(c, features, [r for r in new_fit if r.type == c.label],
                             [r for r in new_held if r.type == c.label], [r for r in old if r.type != c.label], rng)
    return found


def relabel_lookalikes(registry: Registry, predictor: Predictor, report: DataReport, new_fit: list[Record],
                      new_held: list[Record], old: list[Record]) -> str | None:
    """Write the label changes for ``--relabel-similar``: every old typed training article at
    least as close to a new label's centre as 90% of its held-out articles takes that label.
    Returns the relabel file's name (None when nothing changed)."""
    features = _features(predictor)
    changes, made_from = [], Counter()
    target = None
    for c in report.readings:
        fit = [r for r in new_fit if r.type == c.label]
        held = [r for r in new_held if r.type == c.label]
        if not (c.new and fit and held and features is not None):
            continue
        centre, threshold = lookalike_rule(features, fit, held)
        candidates = [r for r in old if r.type is not None and r.type != c.label]
        close = lookalikes(features, centre, threshold, candidates)
        for r, hit in zip(candidates, close):
            if hit:
                changes.append({"key": record_key(r), "from": r.type, "to": c.label, "threshold": round(threshold, 4)})
                made_from[r.type] += 1
        target = c.label
    if not changes:
        return None
    name = write_relabels(registry.home, changes)
    report.relabels["made"] = {"n": len(changes), "to": target, "from": dict(made_from), "file": name}
    return name


def _features(predictor: Predictor):
    """The model's own TF-IDF features (the baseline's, or the transformer's nested baseline's)."""
    model = predictor.model
    return getattr(model, "features", None) or getattr(getattr(model, "baseline", None), "features", None)


def judge_new_data(current: Predictor, candidate: Predictor, new_held: list[Record],
                   report: DataReport) -> tuple[list[Gain], list[LabelScore]]:
    """The paired comparison and the per-label table on the held-out new records."""
    if not new_held:
        return [], []
    current_preds, _ = predict_records(current, new_held)
    candidate_preds, _ = predict_records(candidate, new_held)
    gains = paired_gains(new_held, current_preds, candidate_preds)
    short = short_views(new_held)  # the held-out full texts in the short shape too
    if short:
        gains += [replace(g, task="type, headline + first paragraph") for g in
                  paired_gains(short, predict_records(current, short)[0], predict_records(candidate, short)[0])]
    rows = label_report(new_held, current_preds, candidate_preds, set(report.new_labels.get("type", [])))
    return gains, rows


def previous_training_files(current: Version, files: list[str]) -> list[Path]:
    """The current model's training files that the retrain reads again; raises if one is gone.

    A file the current model already trained on (say, the growing corrections file) is read
    once, in its present state, as new data: never twice.
    """
    previous = [Path(f["path"]) for f in current.config.get("data", {}).get("train", [])]
    new_paths = {Path(f).resolve() for f in files}
    previous = [p for p in previous if p.resolve() not in new_paths]
    missing = [str(p) for p in previous if not p.is_file()]
    if missing:
        raise RegistryError(f"the current model's training data is missing: {', '.join(missing)}. "
                            "Restore it (or set NEWSLENS_DATA) to retrain on top of it.")
    return previous


def candidate_config(current: Version, previous_files: list[Path], files: list[str], kind: str | None) -> TrainConfig:
    """The current model's training config, on its data plus the new files, of ``kind`` if given."""
    config_dict = dict(current.config["train_config"])
    if kind:
        config_dict["kind"] = kind
    config_dict["train"] = [str(p) for p in previous_files] + [str(Path(f).resolve()) for f in files]
    config = _build(TrainConfig, config_dict, f"{current.name}/config.json train_config")
    config.evaluate = []  # the candidate is judged on the registry's holdout
    return config


def read_data(current: Version, files: list[str], previous_files: list[Path], labels: str | None,
              progress: bool, type_rules: dict[str, str] | None = None
              ) -> tuple[list[Record], list[dict], list[Record], list[dict], DataReport]:
    """(new records, their fingerprints, existing records, theirs, the report of what the new
    data brings). The new files are validated completely first; ``labels`` fixes the taxonomy;
    ``type_rules`` are the config's ``type_from_source``, applied to every file as in training."""
    new, new_prints = read_files([Path(f) for f in files], progress=False, type_rules=type_rules)
    existing, prints = read_files(previous_files, progress, type_rules)
    old_prints = {f["path"]: f["sha256"] for f in current.config["data"]["train"]}
    changed = [p["file"] for p in prints if old_prints.get(p["path"], p["sha256"]) != p["sha256"]]
    if changed:
        log.warning("training file(s) changed since %s was trained: %s", current.name, ", ".join(changed))
    known = _known_labels(current.config)
    dropped: dict[str, int] = {}
    if labels is not None:
        taxonomy = known if labels == "current" else _read_taxonomy(labels)
        new, dropped = restrict_labels(new, taxonomy)
    report = inspect_new_data([str(f) for f in files], new, existing, known, dropped)
    return new, new_prints, existing, prints, report


def compare_on_holdout(staged: Path, current: Version, holdout: list[Record], tolerance: float,
                       progress: bool) -> tuple[dict, dict, dict, list[str]]:
    """(current metrics, candidate metrics, comparison, reasons to reject) on the registry's holdout."""
    if not holdout:
        return {}, {}, {}, ["the registry has no holdout (its first training data was too small to set one aside), "
                            "so the candidate cannot be compared with the current model; --force promotes it"]
    candidate_metrics = Predictor.load(staged).metrics["holdout"]  # evaluated when the candidate was saved
    current_metrics = evaluate(Predictor.load(current.path), holdout, progress)
    comparison, reasons = compare(current_metrics, candidate_metrics, tolerance)
    return current_metrics, candidate_metrics, comparison, reasons


def _read_taxonomy(path: str) -> dict[str, set[str]]:
    """A JSON file {"type": [...], "topics": [...]}."""
    import json

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"--labels {path}: expected 'current' or a JSON file "
                         f"{{\"type\": [...], \"topics\": [...]}} ({e}).") from None
    return {k: set(v) for k, v in data.items() if k in ("type", "topics")}
