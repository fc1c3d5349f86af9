"""``newslens batch --ray [ADDRESS]``: the same archive job on Ray Data, for a cluster.

The job is ``training.batch``'s, shard for shard: the driver reads and validates the inputs
(so every bad record keeps its file:line) and cuts the same shards; Ray Data's ``map_batches``
runs them on an actor pool, each actor loading the ``Predictor`` once and answering with
``training.batch.predict_shard``; the driver writes each shard's files atomically as results
stream back. Results are therefore identical to the local path's, resumption works the same
way, and the output folder only has to exist on the driver's machine. Every node needs
NewsLens and the model folder at the same path.

Shards go to Ray in windows of ``WINDOW_PER_ACTOR`` per actor, so the driver never holds
the whole archive; each window starts its actors afresh (a model load per actor per window,
seconds against minutes of work). ``ray`` is an optional extra (``newslens[ray]``), imported
only here.
"""
from __future__ import annotations

import os
import pickle
from typing import Any, Iterator

from .batch import DEFAULT_SHARD_SIZE, BatchSummary, Job, Shard, predict_shard, write_shard

WINDOW_PER_ACTOR = 32


class ShardActor:
    """A Ray Data actor: the model loaded once, then one shard per call."""

    def __init__(self, model: str, runtime: str | None):
        from model.predictor import Predictor

        self.predictor = Predictor.load(model, runtime=runtime)

    def __call__(self, batch: dict[str, Any]) -> dict[str, list]:
        out: dict[str, list] = {"result": []}
        for blob in batch["shard"]:
            shard: Shard = pickle.loads(blob)
            out["result"].append(pickle.dumps(predict_shard(self.predictor, shard)))
        return out


def _windows(shards: Iterator[Shard], size: int) -> Iterator[list[Shard]]:
    window: list[Shard] = []
    for shard in shards:
        window.append(shard)
        if len(window) >= size:
            yield window
            window = []
    if window:
        yield window


def run_batch_ray(inputs: list[str], out: str | os.PathLike, model: str | None = None, workers: int | None = None,
                  shard_size: int = DEFAULT_SHARD_SIZE, address: str | None = None, runtime: str | None = None,
                  progress: bool = True) -> BatchSummary:
    try:
        import ray
    except ImportError:
        raise ValueError("--ray needs Ray: pip install 'newslens[ray]'.") from None
    if workers is not None and workers < 1:
        raise ValueError(f"--workers must be at least 1; got {workers}.")
    job = Job(inputs, out, model, shard_size, progress, desc="batch (ray)")
    if not ray.is_initialized():
        # Locally: as many CPUs as cores; on a cluster, what it has. Quiet: the job has its own bar.
        ray.init(address=address or None, include_dashboard=False, log_to_driver=False,
                 logging_level="ERROR", configure_logging=True)
    ray.data.DataContext.get_current().enable_progress_bars = False
    cpus = int(ray.cluster_resources().get("CPU", os.cpu_count() or 1))
    workers = cpus if workers is None else workers
    threads = max(1, cpus // workers) if not address else 1
    env = {"OMP_NUM_THREADS": str(threads), "NEWSLENS_THREADS": str(threads)}

    try:
        for window in _windows(job.todo(), WINDOW_PER_ACTOR * workers):
            ds = ray.data.from_items([{"shard": pickle.dumps(s)} for s in window], override_num_blocks=len(window))
            ds = ds.map_batches(ShardActor, fn_constructor_args=(job.identity["path"], runtime), batch_size=1,
                                concurrency=min(workers, len(window)), num_cpus=threads,
                                runtime_env={"env_vars": env})
            for row in ds.iter_rows():
                result = pickle.loads(row["result"])
                write_shard(job.folder, result)
                job.finished(result)
    finally:
        job.close()
    return job.summary
