"""Train a bundle from a config: read and validate data, fit, evaluate, save with a card.

``train(config, out=DIR)`` writes one bundle trained on all the data. Without ``out`` the
bundle becomes the next version of the registry under $NEWSLENS_HOME and its current model;
a small fixed holdout is then carved from the training data once, kept out of every model
of that registry, and used to compare versions safely (see ``registry.py``).
"""
from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from model import bundle
from model.predictor import Predictor

from . import distributed
from .baseline import fit_baseline
from .card import render_card
from .config import TrainConfig
from .data import SUFFIXES, DataValidationError, Problem, Record, fingerprint, read_records, type_from_source
from .evaluate import evaluate, headline
from .parallel import parallel_map
from .registry import Registry, holdout_file, record_key, split_holdout, write_holdout

log = logging.getLogger("newslens.train")


def library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for package in ("newslens", "numpy", "scipy", "scikit-learn", "torch", "transformers"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            pass
    return out


class SetupError(ValueError):
    """Training cannot start here: a package, the base model or a data file is missing."""


def check_ready(config: TrainConfig, data_paths: list[Path]) -> None:
    """Fail in a second, before any reading or fitting, on what would otherwise fail minutes
    into a run: a missing package or base model of the kind, or a data file that is missing or
    cannot be read. Raises ``SetupError`` with one line saying what to install or fix."""
    problems = [p for p in map(_file_problem, data_paths) if p]
    if problems:
        raise SetupError(f"cannot train: {'; '.join(problems)}.")
    if config.kind == "transformer":
        from .pretrained import check_base_model, check_packages

        params = config.transformer
        check_packages()
        check_base_model(params.base_model)
        if params.device != "cpu":
            from .transformer import check_device  # torch is importable: checked above

            check_device(params)


def _file_problem(path: Path) -> str | None:
    """Why ``path`` cannot be read as a data file, in ``read_records``' words; None if it can."""
    name = str(path)
    if not path.exists():
        return str(Problem(name, 0, None, "file not found"))
    if path.is_dir():
        return str(Problem(name, 0, None, "is a directory; pass a .jsonl, .jsonl.gz or .csv file"))
    if not path.name.endswith(SUFFIXES):
        return str(Problem(name, 0, None, f"unsupported file type; use one of {', '.join(SUFFIXES)}"))
    try:
        with open(path, "rb") as f:
            f.read(1)
    except OSError as e:
        return str(Problem(name, 0, None, f"cannot be read ({e.strerror or e})"))
    return None


def read_files(paths: list[Path], progress: bool, type_rules: dict[str, str] | None = None
               ) -> tuple[list[Record], list[dict[str, Any]]]:
    """Read every file, reporting the problems of all of them together before any training.

    ``type_rules`` (the config's ``type_from_source``) give untyped records of matching
    sources their type; a file's fingerprint says how many (``typed_from_source``)."""
    records: list[Record] = []
    problems = []
    prints = []
    # Files are read in forked workers, one file at a time each: validation is Python code.
    for path, part, found in parallel_map(_read_one, list(paths)):
        if found:
            problems.extend(found)
            continue
        part, relabelled = type_from_source(part, type_rules or {})
        records.extend(part)
        info = fingerprint(path)
        info["records"] = len(part)
        if relabelled:
            info["typed_from_source"] = relabelled
        info["labels"] = {task: sum(getattr(r, task) is not None for r in part) for task in ("type", "topics", "tags", "summary")}
        prints.append(info)
    if problems:
        raise DataValidationError(problems)
    return records, prints


def _read_one(path: Path) -> tuple[Path, list[Record], list[Problem]]:
    """(path, its records, its problems): what ``read_records`` finds, returned, not raised."""
    try:
        return path, read_records(path), []
    except DataValidationError as e:
        return path, [], list(e.problems)


def new_version() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")


def fit_and_save(
    records: list[Record],
    config: TrainConfig,
    target: Path,
    train_prints: list[dict[str, Any]],
    progress: bool,
    holdout: list[Record] | None = None,
    extra_meta: dict[str, Any] | None = None,
    preferred: list[Record] | None = None,
    preferred_weight: float = 1.0,
    workdir: Path | None = None,
    resume: bool = False,
    summary_from: Any = None,
    warm_from: Any = None,
) -> tuple[Any, Path]:
    """Fit on ``records``, save to ``target``, evaluate the saved bundle, save again with metrics.
    ``summary_from``: a baseline model whose summary scorer is kept; ``warm_from``: a baseline
    model whose vocabulary and archive parts may be kept (both ``fit_baseline``).

    The transformer kind keeps checkpoints in ``workdir`` (default: beside ``target``) until
    the bundle is saved, so ``resume=True`` continues an interrupted run.
    """
    started = time.perf_counter()
    workdir = workdir or target.with_name(f".{target.name}.work")
    if config.kind == "transformer":
        from .transformer import fit_transformer  # torch is only imported for this kind

        model = fit_transformer(records, config, workdir, progress, resume, preferred=preferred,
                                preferred_weight=preferred_weight)
        if model is None:  # a torchrun rank other than 0: its share of fine-tuning is done
            return None, None
    else:
        model = fit_baseline(records, config.baseline, progress, preferred=preferred, preferred_weight=preferred_weight,
                             summary_from=summary_from, warm_from=warm_from)
    train_seconds = time.perf_counter() - started
    log.info("fitted in %.1f s", train_seconds)
    meta = {
        "name": config.name,
        "version": new_version(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": library_versions(),
        "data": {"train": train_prints, "records_used": len(records)},
        "train_config": config.to_dict(),
        "train_seconds": round(train_seconds, 1),
        "metrics": {},
        **(extra_meta or {}),
    }
    meta.update({k: v for k, v in model.meta.items() if k == "training"})
    model.meta = meta
    # Save first, so evaluation exercises exactly what users will load.
    path = model.save(target, render_card(meta))
    eval_paths = [config.resolve(p) for p in config.evaluate]
    if eval_paths or holdout:
        predictor = Predictor.load(path)
        for eval_path in eval_paths:
            eval_records, info = read_files([eval_path], progress, config.type_from_source)
            log.info("evaluating on %s (%d articles)", eval_path, len(eval_records))
            result = evaluate(predictor, eval_records, progress)
            meta["metrics"][short_name(eval_path)] = {"file": info[0], **result}
            log.info("%s: %s", short_name(eval_path), headline(result))
        if holdout:
            meta["metrics"]["holdout"] = evaluate(predictor, holdout, progress)
        # Only the scores and the card change: the weights (and a transformer's ONNX export,
        # most of a minute) are kept as saved and evaluated above.
        path = bundle.update(path, config={"metrics": meta["metrics"]}, card=render_card(meta))
    shutil.rmtree(workdir, ignore_errors=True)  # checkpoints are only for an unfinished run
    return model, path


def train(config: TrainConfig, out: str | os.PathLike | None = None, progress: bool = True,
          registry: Registry | None = None, resume: bool = False) -> Path:
    """Train per ``config``; write the bundle to ``out``, or register it (see module doc).

    Under ``torchrun`` (transformer kind) every rank runs this; rank 0 returns the bundle's
    path, the others ``None`` once fine-tuning is done (``training.distributed``).
    """
    check_ready(config, [config.resolve(p) for p in [*config.train, *config.evaluate]])
    if config.kind == "transformer":
        distributed.start(config.transformer.device)
    records, train_prints = read_files([config.resolve(p) for p in config.train], progress, config.type_from_source)
    log.info("training data: %d articles from %d file(s)", len(records), len(config.train))
    if out is not None:
        return fit_and_save(records, config, Path(out), train_prints, progress, resume=resume)[1]

    registry = registry or Registry()
    staging = registry.staging_dir()
    # Checkpoints live outside the staging folder (removed on exit) so --resume finds them.
    workdir = registry.home / ".work" / f"{config.name}-{config.kind}"
    try:
        if not distributed.is_main():
            distributed.barrier()  # rank 0 writes the registry's holdout first; then every rank reads it
        records, holdout = apply_holdout(registry, records, train_prints)
        if distributed.is_main():
            distributed.barrier()
        _, staged = fit_and_save(records, config, staging / "bundle", train_prints, progress, holdout,
                                 workdir=workdir, resume=resume)
        if staged is None:
            return None
        parent = registry.current_name()
        version = registry.add(staged, {"parent": parent, "reason": "train", "status": "promoted", "forced": False})
        registry.set_current(version.name, "train")
        log.info("registered %s as the current model", version.name)
        return version.path
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def apply_holdout(registry: Registry, records: list[Record], sources: list[dict[str, Any]]) -> tuple[list[Record], list[Record]]:
    """(records to train on, holdout): the registry's fixed holdout, made on first use."""
    existing = holdout_file(registry)
    if existing is None:
        train_part, holdout = split_holdout(records)
        write_holdout(registry, holdout, sources)
        log.info("registry holdout: %d articles set aside (never trained on)", len(holdout))
        return train_part, holdout
    manifest = json.loads((existing.parent / "manifest.json").read_text(encoding="utf-8"))
    if not manifest.get("records"):
        return records, []  # the first training data was too small to spare a holdout
    holdout = read_records(existing)
    held = {record_key(r) for r in holdout}
    return [r for r in records if record_key(r) not in held], holdout


def short_name(path: Path) -> str:
    """``vntc/test`` for ``.../vntc/test.jsonl.gz``."""
    name = path.name
    for suffix in (".jsonl.gz", ".json.gz", ".jsonl", ".csv.gz", ".csv"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return f"{path.parent.name}/{name}"
