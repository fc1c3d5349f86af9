"""Retraining report: before/after metrics in the model card, and plots as PNG.

The report goes into the candidate's bundle while it is still staged, through
``bundle.amend``: the card and the plots are covered by the bundle's checksums like its
weights, and a report cut short leaves a bundle that fails verification, never one that passes.

Plots (written into the candidate's bundle folder):
- ``confusion_matrix.png``: the candidate's type confusion matrix on the holdout;
- ``per_class_f1.png``: type per-class F1 and topic per-label F1, current vs candidate;
- ``training_curve.png``: holdout metrics of every registered version, in order
  (how the model has evolved retrain after retrain).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from model import bundle

from .card import metric_label, metrics_table
from .metrics import METRIC_NAMES

# The headline metric of each task that the training curve follows, by schema keys.
HISTORY_METRICS: tuple[tuple[str, str], ...] = (
    ("type", "accuracy"), ("topics", "micro_f1"), ("summary", "rouge1"), ("keywords", "f1_at_5_partial"))


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    plt.rcParams["font.family"] = ["DejaVu Sans"]  # covers Vietnamese diacritics
    return plt


def plot_confusion(metrics: dict[str, Any], path: Path, title: str) -> bool:
    t = metrics.get("type")
    if not t:
        return False
    plt = _pyplot()
    cm = np.array(t["confusion_matrix"], dtype=float)
    labels = t["labels"]
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(1.0 + 0.6 * len(labels), 0.8 + 0.55 * len(labels)))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    for i in range(len(labels)):
        for j in range(len(labels)):
            if cm[i, j]:
                ax.text(j, i, int(cm[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if norm[i, j] > 0.5 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def plot_per_class(before: dict[str, Any], after: dict[str, Any], path: Path,
                   names: tuple[str, str] = ("current", "candidate"), title: str = "on the holdout") -> bool:
    """F1 per type label and per topic label; ``before`` may be empty (one model only)."""
    panels = []
    for task, key in (("type", "per_class_f1"), ("topics", "per_label_f1")):
        a, b = (after.get(task) or {}).get(key), (before.get(task) or {}).get(key)
        if a:
            panels.append((task, b or {}, a))
    if not panels:
        return False
    plt = _pyplot()
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, 3.2 * len(panels)), squeeze=False)
    for ax, (task, b, a) in zip(axes[:, 0], panels):
        labels = sorted(set(a) | set(b))
        x = np.arange(len(labels))
        if b:
            ax.bar(x - 0.2, [b.get(l, 0) for l in labels], 0.4, label=names[0])
        ax.bar(x + (0.2 if b else 0), [a.get(l, 0) for l in labels], 0.4 if b else 0.6, label=names[1])
        ax.set_xticks(x, labels, rotation=45, ha="right", fontsize=8)
        ax.set_ylim(0, 1)
        ax.set_ylabel("F1")
        ax.set_title(f"{task}: F1 per label {title}", fontsize=10)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def plot_history(points: list[tuple[str, dict[str, Any]]], path: Path) -> bool:
    """Holdout metrics per registered version (the last point is the candidate)."""
    series = {metric_label(task, key): (task, key) for task, key in HISTORY_METRICS}
    if not points:
        return False
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4))
    x = np.arange(len(points))
    drawn = 0
    for name, (task, key) in series.items():
        ys = [(m.get(task) or {}).get(key) for _, m in points]
        if any(y is not None for y in ys):
            ax.plot(x, [np.nan if y is None else y for y in ys], marker="o", label=name)
            drawn += 1
    if not drawn:
        plt.close(fig)
        return False
    ax.set_xticks(x, [v for v, _ in points], fontsize=8)
    ax.set_ylabel("holdout score")
    ax.set_title("Holdout metrics by model version", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def write_report(folder: Path, current, current_metrics: dict, candidate_metrics: dict, comparison: dict,
                 reasons: list[str], promoted: bool, forced: bool, registry, new_gains: list | None = None,
                 new_labels: list | None = None) -> None:
    """Plots and a "Retraining" section appended to the candidate's model card.

    ``folder`` is the staged (not yet registered) candidate bundle; it is sealed again afterwards.
    ``new_gains`` / ``new_labels``: the comparison on the held-out new records (``newdata``).
    """
    with bundle.amend(folder):
        _write_report(folder, current, current_metrics, candidate_metrics, comparison, reasons, promoted, forced,
                      registry, new_gains or [], new_labels or [])


def _new_data_section(gains: list, labels: list) -> list[str]:
    if not gains:
        return []
    lines = ["", "Both models on the held-out new records (a slice of the new data, never trained on):", "",
             "| task | metric | n | current | candidate | paired z | verdict |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for g in gains:
        verdict = "beats" if g.beats else "worse" if g.worse else "no significant change"
        lines.append(f"| {g.task} | {g.metric} | {g.n} | {g.current:.4f} | {g.candidate:.4f} | {g.z:+.2f} | {verdict} |")
    if labels:
        def pr(v):
            return " / ".join("-" if x is None else f"{x:.2f}" for x in v)

        lines += ["", "| type label | n | current precision / recall | candidate precision / recall |",
                  "| --- | --- | --- | --- |"]
        lines += [f"| {row.label}{' (new)' if row.new else ''} | {row.n} | {pr(row.current)} | {pr(row.candidate)} |"
                  for row in labels]
    return lines


def _write_report(folder: Path, current, current_metrics: dict, candidate_metrics: dict, comparison: dict,
                  reasons: list[str], promoted: bool, forced: bool, registry, new_gains: list, new_labels: list) -> None:
    images = []
    if plot_confusion(candidate_metrics, folder / "confusion_matrix.png", "Candidate: type confusion matrix (holdout)"):
        images.append("confusion_matrix.png")
    if plot_per_class(current_metrics, candidate_metrics, folder / "per_class_f1.png"):
        images.append("per_class_f1.png")
    history = []
    for v in registry.versions():
        holdout = v.config.get("metrics", {}).get("holdout")
        if holdout:
            history.append((v.name, holdout))
    history.append(("candidate", candidate_metrics))
    if plot_history(history, folder / "training_curve.png"):
        images.append("training_curve.png")

    rows = ["| task | metric | current | candidate | change |", "| --- | --- | --- | --- | --- |"]
    for task, metrics in comparison.items():
        for name, v in metrics.items():
            c, d = v["current"], v["candidate"]
            change = "" if c is None or d is None else f"{d - c:+.4f}"
            rows.append(f"| {task} | {METRIC_NAMES.get(name, name)} | {'-' if c is None else f'{c:.4f}'} "
                        f"| {'-' if d is None else f'{d:.4f}'} | {change} |")
    decision = "promoted" + (" (forced despite the drop)" if forced and reasons else "") if promoted else "kept the current model"
    section = [
        "",
        "## Retraining",
        f"Retrained from `{current.name}`. Decision: **{decision}**.",
        *(f"- {r}" for r in reasons),
        "",
        "Both models on the registry's holdout (the fixed one and the slices earlier retrains held out):",
        "",
        *rows,
        *_new_data_section(new_gains, new_labels),
        "",
        metrics_table({k: v for k, v in {"holdout (candidate)": candidate_metrics,
                                         "holdout (current)": current_metrics}.items() if v}),
        "",
        *(f"![{name}]({name})" for name in images),
        "",
    ]
    card = folder / bundle.CARD_NAME
    card.write_text(card.read_text(encoding="utf-8") + "\n".join(section), encoding="utf-8")
