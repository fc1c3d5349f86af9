"""``newslens batch``: annotate a whole archive, in shards, resumably, with N worker processes.

    newslens batch INPUT... --out DIR [--model DIR] [--workers N] [--shard-size N]

- INPUT: data files (JSONL, JSONL.gz, CSV) or globs of them, in the data schema (only ``text``
  is needed; labels are ignored).
- Each input file is cut, in file order, into shards of ``shard_size`` input lines. A shard's
  results go to ``DIR/shards/NNNN-<file>-KKKKK.jsonl.gz`` (one line per good record) and its
  bad records to ``....failures.jsonl`` beside it. Both are written to a temporary name and
  renamed into place, the failures first: a shard file exists only when it is complete, so a
  rerun after ``kill -9`` skips exactly the finished shards and redoes the rest.
- ``DIR/manifest.json`` pins the inputs (size and modification time) and the model: a rerun
  with other inputs, another model or another shard size is refused rather than mixed.
- Bad records (unreadable lines, no text, a record the model fails on) are reported with
  file:line and skipped, never fatal: records read = results written + failures reported.
- Workers: ``workers`` processes (default: the number of cores), each loading the model once
  and using ``cores // workers`` threads. At most two shards per worker are in flight, so
  memory stays bounded whatever the size of the archive.
"""
from __future__ import annotations

import glob
import gzip
import json
import logging
import os
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from tqdm.auto import tqdm

from .data import SUFFIXES, Problem, Record, _iter_raw, _open_text, _validate, json_object

log = logging.getLogger("newslens.batch")
MANIFEST = "manifest.json"
SHARDS = "shards"
DEFAULT_SHARD_SIZE = 1000
# A shard is held in memory (by the reader, then by its worker): at most this many records.
MAX_SHARD_SIZE = 100_000
PREDICT_CHUNK = 64  # records per predict_batch call inside a shard
TMP_PREFIX = ".tmp-"


@dataclass
class Shard:
    """One piece of work: the good records of some input lines, and the problems of the bad ones."""

    name: str
    file: str
    records: list[tuple[int, Record]] = field(default_factory=list)  # (line, record)
    problems: list[Problem] = field(default_factory=list)
    # JSONL lines not parsed yet: the worker parses and checks them (``parse``), so the reading
    # process only cuts lines and stays out of the workers' way.
    raw: list[tuple[int, str]] = field(default_factory=list)

    @property
    def items(self) -> int:
        """Input records in this shard, good or bad (a bad line counts once, whatever its problems)."""
        return len(self.records) + len(self.raw) + len({p.line for p in self.problems})

    def parse(self) -> "Shard":
        """The raw JSONL lines parsed and checked into records and problems (in place)."""
        for line, text in self.raw:
            obj = json_object(text, self.file, line, self.problems)
            if obj is not None:
                record = _validate(obj, self.file, line, self.problems, ignore_unknown=True)
                if record is not None:
                    self.records.append((line, record))
        self.records.sort(key=lambda lr: lr[0])
        self.raw = []
        return self


@dataclass
class BatchSummary:
    inputs: list[str]
    shards_total: int = 0
    shards_skipped: int = 0  # finished by an earlier run
    records: int = 0  # records read (good and bad) in the shards done now and before
    written: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)
    failures_total: int = 0
    seconds: float = 0.0

    def render(self, out: Path, shown: int = 20) -> str:
        lines = [f"batch: {self.records:,} records in {len(self.inputs)} file(s), {self.shards_total} shard(s) "
                 f"({self.shards_skipped} done by an earlier run) in {self.seconds:.1f} s",
                 f"  results: {self.written:,} (in {out / SHARDS})",
                 f"  failures: {self.failures_total:,}" + (f" (every one in {out / SHARDS}/*.failures.jsonl)"
                                                          if self.failures_total else "")]
        for f in self.failures[:shown]:
            lines.append(f"    {f['input']}: {f['error']}")
        if self.failures_total > shown:
            lines.append(f"    ... and {self.failures_total - shown:,} more")
        return "\n".join(lines)


# --- inputs ----------------------------------------------------------------------------------
def expand_inputs(patterns: list[str]) -> list[Path]:
    """Files named or matched by ``patterns``, in the order given (each glob sorted), once each."""
    out: list[Path] = []
    for pattern in patterns:
        matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        if not matches:
            raise ValueError(f"{pattern}: no file matches this pattern.")
        for m in matches:
            p = Path(m)
            if not p.is_file():
                raise ValueError(f"{m}: no such file.")
            if not p.name.endswith(SUFFIXES):
                raise ValueError(f"{m}: unsupported file type; use one of {', '.join(SUFFIXES)}.")
            if p.resolve() not in {q.resolve() for q in out}:
                out.append(p)
    if not out:
        raise ValueError("no input files.")
    return out


def count_lines(path: Path) -> int:
    """Lines in a (gzipped) text file: the progress bar's total (CSV records may span lines)."""
    with _open_text(path) as handle:
        return sum(1 for _ in handle)


def shards_of(path: Path, index: int, shard_size: int) -> Iterator[Shard]:
    """The shards of one input file, in order; shard k holds input lines' records k*size.. onward.

    A shard closes once it holds ``shard_size`` items (a good record, or the problems of one
    bad line), so the cut depends only on the file: a rerun cuts it the same way.
    """
    stem = path.name.split(".")[0][:40]
    problems: list[Problem] = []
    k = 0
    shard = Shard(f"{index:04d}-{stem}-{k:05d}", str(path))
    items = 0
    bad_lines: set[int] = set()
    for line, obj in _iter_raw(path, problems, jsonl_text=True):
        if isinstance(obj, str):  # a JSONL line: parsed by the worker
            shard.raw.append((line, obj))
            items += 1
        else:
            record = _validate(obj, str(path), line, problems, ignore_unknown=True)
            if record is not None:
                shard.records.append((line, record))
                items += 1
        items += _take_problems(problems, shard, bad_lines)
        if items >= shard_size:
            yield shard
            k += 1
            shard, items, bad_lines = Shard(f"{index:04d}-{stem}-{k:05d}", str(path)), 0, set()
    _take_problems(problems, shard, bad_lines)  # problems found after the last record (a truncated file)
    if shard.records or shard.raw or shard.problems or k == 0:
        yield shard


def _take_problems(problems: list[Problem], shard: Shard, bad_lines: set[int]) -> int:
    """Move ``problems`` into ``shard``; how many new bad lines they name."""
    new = 0
    for p in problems:
        shard.problems.append(p)
        if p.line not in bad_lines:
            bad_lines.add(p.line)
            new += 1
    problems.clear()  # handed on: the reader's per-file cap on problems never trips here
    return new


def fingerprint(path: Path) -> dict[str, Any]:
    st = path.stat()
    return {"path": str(path.resolve()), "bytes": st.st_size, "mtime_ns": st.st_mtime_ns}


# --- one shard, in a worker ------------------------------------------------------------------
_predictor = None


def _init_worker(model: str | None, runtime: str | None) -> None:
    global _predictor
    from model.predictor import Predictor

    _predictor = Predictor.load(model, runtime=runtime)


def _output(record: Record, where: str, p) -> dict[str, Any]:
    return {
        "id": record.id,
        "input": where,
        "type": p.type.label,
        "type_score": round(p.type.scores.get(p.type.label, 0.0), 4),
        "topics": p.topics.labels,
        "keywords": [k.phrase for k in p.keywords],
        "summary": p.summary.text,
        "model": {"name": p.model.name, "version": p.model.version, "runtime": p.model.runtime},
        **({"warnings": p.warnings} if p.warnings else {}),
    }


def predict_shard(predictor, shard: Shard) -> dict[str, Any]:
    """Results and failures of one shard (the same for every engine); nothing is written."""
    items = shard.items
    shard.parse()
    results, failures = [], bad_lines(shard)
    for start in range(0, len(shard.records), PREDICT_CHUNK):
        chunk = shard.records[start:start + PREDICT_CHUNK]
        try:
            preds = predictor.predict_batch([r.text for _, r in chunk], [r.title for _, r in chunk])
        except Exception:  # noqa: BLE001 - find the record that fails, keep the others
            preds = []
            for line, r in chunk:
                try:
                    preds.append(predictor.predict(r.text, r.title))
                except Exception as e:  # noqa: BLE001 - reported with its file:line, never fatal
                    preds.append(None)
                    failures.append({"input": f"{shard.file}:{line}", "error": f"{type(e).__name__}: {e}"})
        for (line, r), p in zip(chunk, preds):
            if p is not None:
                results.append(_output(r, f"{shard.file}:{line}", p))
    return {"name": shard.name, "read": items, "written": len(results), "results": results, "failures": failures}


def write_shard(folder: Path, result: dict[str, Any]) -> None:
    """A shard's files, each atomically; the results last, since their file marks the shard done."""
    _write_atomic(folder / f"{result['name']}.failures.jsonl", result["failures"], compress=False)
    _write_atomic(folder / f"{result['name']}.jsonl.gz", result["results"], compress=True)


def run_shard(shard: Shard, out_dir: str) -> dict[str, Any]:
    """In a worker process: predict one shard with the worker's model and write it."""
    result = predict_shard(_predictor, shard)
    write_shard(Path(out_dir) / SHARDS, result)
    return {k: v for k, v in result.items() if k != "results"}  # the rows stay on disk


def bad_lines(shard: Shard) -> list[dict[str, Any]]:
    """One failure per bad input line (a line with several problems lists them all)."""
    by_line: dict[int, list[str]] = {}
    for p in shard.problems:
        by_line.setdefault(p.line, []).append(str(p).split(": ", 1)[-1] if p.line else str(p))
    return [{"input": f"{shard.file}:{line}", "error": "; ".join(msgs)} for line, msgs in sorted(by_line.items())]


def _write_atomic(path: Path, rows: list[dict[str, Any]], compress: bool) -> None:
    tmp = path.with_name(f"{TMP_PREFIX}{os.getpid()}-{path.name}")
    with open(tmp, "wb") as raw:
        with (gzip.open(raw, "wt", encoding="utf-8") if compress else open(raw.fileno(), "w", encoding="utf-8",
                                                                            closefd=False)) as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        raw.flush()
        os.fsync(raw.fileno())  # on disk before the rename makes it count
    os.replace(tmp, path)


# --- reading a job's output ----------------------------------------------------------------------
def finished_shards(out: str | os.PathLike) -> list[Path]:
    """The result files of the finished shards of a job's ``out`` folder, in order (not the
    hidden temporary file of a shard being written, which a glob of ``*.jsonl.gz`` also matches)."""
    return sorted(p for p in (Path(out) / SHARDS).glob("*.jsonl.gz") if not p.name.startswith(TMP_PREFIX))


def read_results(out: str | os.PathLike) -> Iterator[dict[str, Any]]:
    """Every result line of a job's ``out`` folder, shard by shard."""
    for shard in finished_shards(out):
        with gzip.open(shard, "rt", encoding="utf-8") as handle:
            yield from (json.loads(line) for line in handle)


# --- the job -----------------------------------------------------------------------------------
def _check_manifest(out: Path, manifest: dict[str, Any]) -> None:
    path = out / MANIFEST
    if path.is_file():
        old = json.loads(path.read_text(encoding="utf-8"))
        for key in ("inputs", "model", "shard_size"):
            if old.get(key) != manifest.get(key):
                raise ValueError(f"{out}: an earlier batch run there used other {key} ({path}); finish it with the "
                                 "same inputs, model and shard size, or choose another --out.")
        return
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f"{TMP_PREFIX}{MANIFEST}"
    tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(tmp, path)


def _model_identity(model: str | None) -> dict[str, Any]:
    from model import bundle
    from model.paths import default_model_dir

    folder = Path(model) if model else default_model_dir()
    config = bundle.read_config(folder, verify=False)
    version = (config.get("registry") or {}).get("version") or config.get("version", folder.name)
    return {"path": str(folder.resolve()), "name": config.get("name", folder.name), "version": str(version)}


class Job:
    """What every engine shares: the checked inputs, the manifest, the shards still to do, the
    counts and the progress bar. An engine runs ``todo()``'s shards and passes each result to
    ``finished``; shards an earlier run finished are counted by ``todo`` itself."""

    def __init__(self, inputs: list[str], out: str | os.PathLike, model: str | None, shard_size: int,
                 progress: bool, desc: str = "batch"):
        self.started = time.perf_counter()
        if not 1 <= shard_size <= MAX_SHARD_SIZE:
            raise ValueError(f"--shard-size must be between 1 and {MAX_SHARD_SIZE:,} (a shard is held in memory); "
                             f"got {shard_size:,}.")
        self.files = expand_inputs(inputs)
        self.out, self.shard_size = Path(out), shard_size
        self.identity = _model_identity(model)
        _check_manifest(self.out, {"inputs": [fingerprint(f) for f in self.files], "model": self.identity,
                                   "shard_size": shard_size})
        self.folder = self.out / SHARDS
        self.folder.mkdir(parents=True, exist_ok=True)
        for stale in self.folder.glob(f"{TMP_PREFIX}*"):  # a killed run's half-written files; never counted
            stale.unlink(missing_ok=True)
        self.summary = BatchSummary([str(f) for f in self.files])
        self.bar = tqdm(total=sum(count_lines(f) for f in self.files), desc=desc, unit="article",
                        disable=not progress, smoothing=0.1)

    def finished(self, result: dict[str, Any]) -> None:
        s = self.summary
        s.records += result["read"]
        s.written += result["written"]
        s.failures_total += len(result["failures"])
        s.failures += result["failures"][: max(0, 100 - len(s.failures))]
        self.bar.update(result["read"])

    def todo(self) -> Iterator[Shard]:
        for index, path in enumerate(self.files):
            for shard in shards_of(path, index, self.shard_size):
                self.summary.shards_total += 1
                if (self.folder / f"{shard.name}.jsonl.gz").is_file():
                    self.summary.shards_skipped += 1
                    self.finished(_finished_shard(self.folder, shard))
                else:
                    yield shard

    def close(self) -> BatchSummary:
        self.bar.close()
        self.summary.seconds = time.perf_counter() - self.started
        return self.summary


def run_batch(inputs: list[str], out: str | os.PathLike, model: str | None = None, workers: int | None = None,
              shard_size: int = DEFAULT_SHARD_SIZE, runtime: str | None = None, progress: bool = True) -> BatchSummary:
    cores = os.cpu_count() or 1
    workers = cores if workers is None else workers
    if workers < 1:
        raise ValueError(f"--workers must be at least 1; got {workers}.")
    job = Job(inputs, out, model, shard_size, progress)
    threads = max(1, cores // workers)
    env = {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads), "OPENBLAS_NUM_THREADS": str(threads),
           "NEWSLENS_THREADS": str(threads)}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the spawned workers inherit it before they import numpy or a runtime
    try:
        import multiprocessing

        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_init_worker, initargs=(job.identity["path"], runtime))
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    pending: set[Future] = set()
    try:
        for shard in job.todo():
            while len(pending) >= 2 * workers:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in done:
                    job.finished(f.result())
            pending.add(pool.submit(run_shard, shard, str(job.out)))
        for f in wait(pending).done:
            job.finished(f.result())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        job.close()
    return job.summary


def _finished_shard(folder: Path, shard: Shard) -> dict[str, Any]:
    """The counts of a shard an earlier run finished, read back from its files."""
    with gzip.open(folder / f"{shard.name}.jsonl.gz", "rt", encoding="utf-8") as handle:
        written = sum(1 for _ in handle)
    failures_path = folder / f"{shard.name}.failures.jsonl"
    failures = [json.loads(x) for x in failures_path.read_text(encoding="utf-8").splitlines()] \
        if failures_path.is_file() else []
    return {"name": shard.name, "read": shard.items, "written": written, "failures": failures}
