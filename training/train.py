"""Train a bundle from a config: read and validate data, fit, evaluate, save with a card."""
from __future__ import annotations

import logging
import os
import platform
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from model.paths import models_home
from model.predictor import Predictor

from .baseline import fit_baseline
from .card import render_card
from .config import TrainConfig
from .data import DataValidationError, Record, fingerprint, read_records
from .evaluate import evaluate, headline

log = logging.getLogger("newslens.train")


def library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for package in ("newslens", "numpy", "scipy", "scikit-learn"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            pass
    return out


def read_files(paths: list[Path], progress: bool) -> tuple[list[Record], list[dict[str, Any]]]:
    """Read every file, reporting the problems of all of them together before any training."""
    records: list[Record] = []
    problems = []
    prints = []
    for path in tqdm(paths, desc="read data", unit="file", disable=not progress, leave=False):
        try:
            part = read_records(path)
        except DataValidationError as e:
            problems.extend(e.problems)
            continue
        records.extend(part)
        info = fingerprint(path)
        info["records"] = len(part)
        info["labels"] = {task: sum(getattr(r, task) is not None for r in part) for task in ("type", "topics", "tags", "summary")}
        prints.append(info)
    if problems:
        raise DataValidationError(problems)
    return records, prints


def new_version() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")


def train(config: TrainConfig, out: str | os.PathLike | None = None, progress: bool = True) -> Path:
    """Train per ``config``; write the bundle to ``out`` or a new folder under $NEWSLENS_HOME."""
    started = time.perf_counter()
    train_paths = [config.resolve(p) for p in config.train]
    eval_paths = [config.resolve(p) for p in config.evaluate]
    records, train_prints = read_files(train_paths, progress)
    log.info("training data: %d articles from %d file(s)", len(records), len(train_paths))
    model = fit_baseline(records, config.baseline, progress)
    train_seconds = time.perf_counter() - started
    log.info("fitted in %.1f s", train_seconds)

    version = new_version()
    target = Path(out) if out else models_home() / f"{config.name}-{version}"
    meta = {
        "name": config.name,
        "version": version,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": library_versions(),
        "data": {"train": train_prints},
        "train_config": config.to_dict(),
        "train_seconds": round(train_seconds, 1),
        "metrics": {},
    }
    model.meta = meta
    # Save first, so evaluation exercises exactly what users will load.
    path = model.save(target, render_card(meta))
    if eval_paths:
        predictor = Predictor.load(path)
        for eval_path in eval_paths:
            eval_records, info = read_files([eval_path], progress)
            log.info("evaluating on %s (%d articles)", eval_path, len(eval_records))
            result = evaluate(predictor, eval_records, progress)
            meta["metrics"][_short_name(eval_path)] = {"file": info[0], **result}
            log.info("%s: %s", _short_name(eval_path), headline(result))
        model.meta = meta
        path = model.save(target, render_card(meta))
    return path


def _short_name(path: Path) -> str:
    """``vntc/test`` for ``.../vntc/test.jsonl.gz``."""
    name = path.name
    for suffix in (".jsonl.gz", ".json.gz", ".jsonl", ".csv.gz", ".csv"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return f"{path.parent.name}/{name}"
