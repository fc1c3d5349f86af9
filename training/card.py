"""The model card (README.md beside the weights), rendered from the training metadata."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .evaluate import ALL_RECORDS, interval_text
from .metrics import METRIC_NAMES, TASK_METRICS

TEMPLATE = """---
language: vi
library_name: newslens
tags: [text-classification, multi-label, keyword-extraction, extractive-summarization]
---

# {name} ({version})

NewsLens {kind} model for Vietnamese news: article **type**, key **topics**, **keywords**
and an extractive **draft summary**. Load it with:

```python
from model import Predictor
predictor = Predictor.load("{folder}")
print(predictor.predict(article_text).to_json(indent=2))
```

## Training data
{data_table}

Training took {train_seconds} s (reading, fitting and tuning; evaluation not included).
{fine_tuning}
## Results
{metrics_table}

Metrics as defined in the shared data README: type accuracy / macro-F1, topics micro-F1 over
label sets, keywords F1@5 against editorial tags, summary ROUGE F1 on syllables.
{breakdown}
## Limitations
- Trained on Vietnamese news (VNTC 2005-2007, DANeS, VietNews); other languages and other
  genres get low-confidence or wrong labels. Articles unlike the training period (new topics,
  new names) are harder than the test numbers suggest.
- Topics come from DANeS headlines and leads (1,393 articles), so they are much less reliable
  than the type.
- The summary is extractive: it copies sentences from the article; an editor should rewrite it.

## Versions
{versions}
"""


def _fmt(x: Any) -> str:
    return f"{x:.3f}" if isinstance(x, float) else str(x)


def metric_label(task: str, key: str) -> str:
    """``type accuracy``, ``topics micro-F1``: a task's metric as people read it (from the schema)."""
    return f"{task} {METRIC_NAMES[key]}"


def metrics_table(metrics: dict[str, Any]) -> str:
    """Markdown: one row per evaluation, one column per task with its metrics in schema order."""
    if not metrics:
        return "_Not evaluated._"
    header = " | ".join(f"{task} {' / '.join(METRIC_NAMES[k] for k in keys)}" for task, keys in TASK_METRICS.items())
    rows = [f"| data | n | {header} | docs/s |", "| --- | --- |" + " --- |" * len(TASK_METRICS) + " --- |"]
    for name, m in metrics.items():
        cells = [" / ".join(_fmt(m[task][k]) for k in keys) if m.get(task) else "-" for task, keys in TASK_METRICS.items()]
        rows.append(f"| {name} | {m['n']} | " + " | ".join(cells) + f" | {m['docs_per_second']:.0f} |")
    return "\n".join(rows)


def breakdown_table(metrics: dict[str, Any]) -> str:
    """Markdown: every evaluation file's metrics with their 95% intervals, all records first,
    then per source group (``by_source``); columns only for the metrics some row has."""
    rows = []
    for name, m in metrics.items():
        rows.append((name, ALL_RECORDS, m))
        rows += [(name, group, g) for group, g in (m.get("by_source") or {}).items()]
    columns = [(task, metric) for task, names in TASK_METRICS.items() for metric in names
               if any(m.get(task) for _, _, m in rows)]
    lines = ["| file | source group | records | " + " | ".join(metric_label(t, k) for t, k in columns) + " |",
             "| --- | --- | --- |" + " --- |" * len(columns)]
    for name, group, m in rows:
        cells = [interval_text(m[t], k) if m.get(t) else "-" for t, k in columns]
        lines.append(f"| {name} | {group} | {m['n']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def breakdown_section(metrics: dict[str, Any], heading: str = "##") -> str:
    """The breakdown under a heading, or nothing for results stored before intervals existed."""
    carried = any(m.get("by_source") or any(k.endswith("_ci") for t in TASK_METRICS for k in (m.get(t) or {}))
                  for m in metrics.values())
    if not carried:
        return ""
    return (f"\n{heading} Results by source\n\nEach value with its 95% bootstrap confidence interval (documents "
            f"resampled); rows below {ALL_RECORDS} split the same file by the records' source.\n\n{breakdown_table(metrics)}\n")


KIND_NAMES = {
    "baseline": "baseline (TF-IDF)",
    "transformer": "transformer (a fine-tuned multilingual-e5-small encoder combined with a TF-IDF baseline)",
}


def fine_tuning_section(training: dict[str, Any] | None, onnx: str | None = None) -> str:
    """What the transformer's fine-tuning did, how the combination was chosen, what answers.
    (A baseline's ``training`` holds what a retrain may keep; it fine-tuned nothing.)"""
    if not training or "fine_tune" not in training:
        return ""
    run = training.get("fine_tune", {})
    lines = ["", "## Fine-tuning",
             f"{run.get('steps', '?')} of {run.get('max_steps', '?')} optimizer steps in {run.get('seconds', '?')} s "
             f"(stopped by {run.get('stopped', '?')}); {run.get('trainable_parameters', 0) / 1e6:.1f} M trainable parameters; "
             f"examples per task: {run.get('examples', {})}"
             + (f"; {run['processes']} processes (DistributedDataParallel)" if run.get("processes", 1) > 1 else "")
             + ".", ""]
    if onnx and onnx != "none":
        lines += [f"Runtimes: `model.onnx` (fp32) and `model.int8.onnx` answer through ONNX Runtime without torch "
                  f"(`pip install 'newslens[serve]'`); the {onnx} copy by default; `model.safetensors` for torch.", ""]
    probe = training.get("topic_probe")
    if probe:
        lines += [f"Topics head: refitted after fine-tuning as a logistic regression (C={probe['c']:g}) "
                  f"on the encoder's document vectors of {probe['records']:,} leads.", ""]
    lines += ["Transformer weight in each combined score, chosen on records held out from training:", "",
             "| task | held-out n | transformer alone | baseline alone | combined | weight |", "| --- | --- | --- | --- | --- | --- |"]
    for task, r in training.get("held_out", {}).items():
        lines.append(f"| {task} | {r['n']} | {r['alone']:.4f} | {r['baseline']:.4f} | {r['combined']:.4f} | {r['weight']:.1f} |")
    lines.append("")
    lines.append("Scores: type accuracy, topics micro-F1, summary ROUGE-1 + ROUGE-2.")
    return "\n".join(lines) + "\n"


def data_file_name(fingerprint: dict[str, Any]) -> str:
    """``vntc/train.jsonl.gz``: the file's folder too, since the corpora share file names."""
    path = Path(fingerprint.get("path") or fingerprint["file"])
    return f"{path.parent.name}/{path.name}" if path.parent.name else path.name


def render_card(meta: dict[str, Any], kind: str | None = None, folder: str = "path/to/this/folder") -> str:
    kind = kind or KIND_NAMES.get(meta.get("train_config", {}).get("kind", "baseline"), "baseline (TF-IDF)")
    train = meta.get("data", {}).get("train", [])
    data_rows = ["| file | records | labelled (type / topics / tags / summary) | sha256 |", "| --- | --- | --- | --- | "]
    for f in train:
        lab = f.get("labels", {})
        data_rows.append(
            f"| {data_file_name(f)} | {f.get('records', '?')} | {lab.get('type', 0)} / {lab.get('topics', 0)} / "
            f"{lab.get('tags', 0)} / {lab.get('summary', 0)} | `{f['sha256'][:12]}` |"
        )
    return TEMPLATE.format(
        name=meta.get("name", "newslens"),
        version=meta.get("version", "?"),
        kind=kind,
        folder=folder,
        data_table="\n".join(data_rows),
        train_seconds=meta.get("train_seconds", "?"),
        fine_tuning=fine_tuning_section(meta.get("training"),
                                        meta.get("train_config", {}).get("transformer", {}).get("onnx")),
        metrics_table=metrics_table(meta.get("metrics", {})),
        breakdown=breakdown_section(meta.get("metrics", {})),
        versions=", ".join(f"{k} {v}" for k, v in meta.get("versions", {}).items()),
    )
