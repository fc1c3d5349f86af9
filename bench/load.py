"""Many editors and scripts at once: N concurrent gradio_client callers on /analyse and /predict.

    python bench/load.py                                 # 50 clients x 10 requests on each endpoint
    python bench/load.py --model models/bench-baseline --clients 3 --requests 2

Launches the app in-process on one bundle (``--model DIR``, default model.paths.default_model_dir())
exactly as ``newslens serve --model DIR`` serves it: the same queue (4 Analyse requests at a time,
64 waiting at most; /predict batched up to 32), the upload limit (gradio's max_file_size) and
the size limits of model/limits.py (NEWSLENS_* variables, recorded in the report). Each client
is its own ``gradio_client.Client`` in its own thread and sends its requests one after another;
the endpoints are loaded one at a time. The articles are the app's examples, each request's
made distinct by a sentence naming the client and request.

A request is *answered* when it returns a result with an article type (for /predict: JSON
without "error"); anything else (an exception, a queue-full refusal, an error result) is
*failed*, counted by kind. Reports per endpoint: answered / failed, latency p50 / p95 / max
(from the call to its answer, as the caller sees it, queueing included) and throughput; prints
a table and writes bench/results/load.json.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS, machine, write_report  # noqa: E402

ENDPOINTS = ("analyse", "predict")
CALL_TIMEOUT_S = 600  # one request waiting longer than this counts as failed


def percentile(values: list[float], q: float) -> float | None:
    """The nearest-rank ``q`` percentile (0-100) of ``values``; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def summarise(name: str, latencies_ms: list[float], failures: Counter, sent: int, wall_s: float) -> dict:
    return {
        "endpoint": f"/{name}", "sent": sent, "answered": len(latencies_ms), "failed": sum(failures.values()),
        "failures": dict(failures),
        "p50_ms": round(percentile(latencies_ms, 50), 1) if latencies_ms else None,
        "p95_ms": round(percentile(latencies_ms, 95), 1) if latencies_ms else None,
        "max_ms": round(max(latencies_ms), 1) if latencies_ms else None,
        "wall_s": round(wall_s, 3), "answered_per_s": round(len(latencies_ms) / wall_s, 2) if wall_s else None,
    }


def load_endpoint(url: str, endpoint: str, clients: int, requests: int, articles: list[str], model_choice: str) -> dict:
    """``clients`` callers at once, ``requests`` each, on ``endpoint``; the summary."""
    from gradio_client import Client

    latencies: list[float] = []
    failures: Counter = Counter()
    lock = threading.Lock()
    # Clients connect before the clock starts: a connection is not a request.
    callers = [Client(url, verbose=False) for _ in range(clients)]

    def one(client_no: int) -> None:
        client = callers[client_no]
        for i in range(requests):
            text = f"{articles[(client_no + i) % len(articles)]}\nBạn đọc {client_no}, lượt {i}."
            start = time.perf_counter()
            try:
                if endpoint == "analyse":
                    job = client.submit(text, "", model_choice, api_name="/analyse")
                    ok = bool((job.result(timeout=CALL_TIMEOUT_S)[1] or {}).get("label"))
                    why = "no type label"
                else:
                    job = client.submit(text, api_name="/predict")
                    answer = json.loads(job.result(timeout=CALL_TIMEOUT_S))
                    ok = bool(answer.get("type", {}).get("label")) and "error" not in answer
                    why = f"error result: {str(answer.get('error'))[:80]}"
            except Exception as e:  # noqa: BLE001 - every kind of failure is counted, by kind
                ok, why = False, f"{type(e).__name__}: {str(e)[:80]}"
            elapsed_ms = (time.perf_counter() - start) * 1000
            with lock:
                if ok:
                    latencies.append(elapsed_ms)
                else:
                    failures[why] += 1

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(one, range(clients)))
    wall = time.perf_counter() - start
    for client in callers:
        try:
            client.close()
        except Exception:  # noqa: BLE001 - closing is best effort
            pass
    return summarise(endpoint, latencies, failures, clients * requests, wall)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="bundle folder (default: model.paths.default_model_dir())")
    parser.add_argument("--clients", type=int, default=50, help="concurrent callers (default: %(default)s)")
    parser.add_argument("--requests", type=int, default=10, help="requests per caller and endpoint (default: %(default)s)")
    parser.add_argument("--endpoints", nargs="+", choices=ENDPOINTS, default=list(ENDPOINTS))
    parser.add_argument("--out", default=str(RESULTS / "load.json"))
    args = parser.parse_args()
    if args.clients < 1 or args.requests < 1:
        parser.error("--clients and --requests must be at least 1")

    import gradio as gr

    from model import limits
    from model.paths import default_model_dir
    from model.predictor import Predictor
    from serve.app import QUEUE_MAX_SIZE, build_app, bundle_label, examples, launch_options, queued

    model_dir = Path(args.model) if args.model else default_model_dir()
    predictor = Predictor.load(model_dir)
    model_choice = bundle_label(predictor.info.name, predictor.info.version)
    articles = examples()
    print(f"model {predictor.info.name} {predictor.info.version} ({predictor.info.kind}); "
          f"{args.clients} clients x {args.requests} requests on {', '.join('/' + e for e in args.endpoints)}")
    if args.clients > QUEUE_MAX_SIZE:
        print(f"note: more clients than the queue holds ({QUEUE_MAX_SIZE}): some requests may be refused (queue full)")

    demo = queued(build_app(predictor))
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=None, prevent_thread_lock=True, quiet=True,
                            **launch_options())
    results = []
    try:
        for endpoint in args.endpoints:
            results.append(load_endpoint(url, endpoint, args.clients, args.requests, articles, model_choice))
    finally:
        demo.close()

    limit_names = [n for n in dir(limits) if n.startswith("MAX_")]
    report = {
        "machine": {**machine(), "gradio": gr.__version__},
        "model": str(model_dir), "model_name": predictor.info.name, "model_version": predictor.info.version,
        "model_kind": predictor.info.kind, "clients": args.clients, "requests_per_client": args.requests,
        "articles": len(articles), "limits": {n: getattr(limits, n) for n in limit_names},
        "endpoints": {r["endpoint"]: r for r in results},
    }
    print(f"{'endpoint':10} {'answered':>9} {'failed':>7} {'p50 ms':>9} {'p95 ms':>9} {'max ms':>9} {'per s':>7}")
    for r in results:
        cells = [f"{r[k]:9.0f}" if r[k] is not None else f"{'-':>9}" for k in ("p50_ms", "p95_ms", "max_ms")]
        print(f"{r['endpoint']:10} {r['answered']:>4}/{r['sent']:<4} {r['failed']:>7} {' '.join(cells)} "
              f"{r['answered_per_s'] or 0:7.1f}")
        for why, n in r["failures"].items():
            print(f"    {n} x {why}")
    write_report(report, args.out)
    return 0 if all(r["failed"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
