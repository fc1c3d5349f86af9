"""How fast the transformer's *network* can run on this machine, apart from the rest of an answer.

    python bench/onnx_floor.py --model models/onnx-transformer

The ONNX issue's speed targets (int8 single article p50 <= 35 ms, >= 30 articles/s, >= 2.5x
fp32 torch) are for the whole answer, and ``bench/runtimes.py`` times that. This script asks
what bounds it: it times the network call alone (one article = its windows, exactly as
``TransformerModel.encode`` feeds them), in turns, for

- ``torch-fp32``: the bundle's network in torch (the ratio's reference);
- ``onnx-fp32`` and ``onnx-int8``: the bundle's ONNX copies, as served;
- ``onnx-int8-fused``: the fp32 graph run through ONNX Runtime's transformer optimizer
  (Attention, SkipLayerNormalization, BiasGelu and EmbedLayerNormalization fused, the usual
  recipe for BERT on CPU), then quantised the same way (``QAttention``);

and, if the ``openvino`` package is installed (it is not a NewsLens dependency),
``openvino-bf16``: the same fp32 graph compiled by OpenVINO in bf16, a check on what another
runtime gets from this CPU (AMX); and times the rest of an answer (everything ``predict`` does but the network call) to show
what a whole answer costs on top of the network. It also writes ONNX Runtime's per-operator
profile of the int8 network. No test file is scored: speed only, on the articles
``bench/runtimes.py`` times.

Prints a table and writes bench/results/onnx_floor.json.
"""
from __future__ import annotations

import argparse
import collections
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from bench.common import RESULTS, machine, write_report  # noqa: E402
from bench.runtimes import speed_texts  # noqa: E402
from model.bundle import read_config  # noqa: E402
from model.onnx_net import OnnxNet  # noqa: E402
from model.predictor import Predictor  # noqa: E402


def window_batches(predictor: Predictor, texts: list[str]) -> tuple[list, list[float]]:
    """Each article's WindowBatch (captured from the network call of a real ``predict``) and the
    time of that ``predict`` minus its network call: the rest of the answer."""
    model = predictor.model
    net = model.net
    captured, network_ms = [], []
    run = net.run

    def capturing(wb, need_hidden=False):
        captured.append(wb)
        started = time.perf_counter()
        out = run(wb, need_hidden)
        network_ms.append(1000 * (time.perf_counter() - started))
        return out

    net.run = capturing
    rest = []
    try:
        for text in texts:
            started = time.perf_counter()
            predictor.predict(text)
            rest.append(1000 * (time.perf_counter() - started) - network_ms[-1])
    finally:
        net.run = run
    return captured, rest


def fused_int8(fp32_graph: Path, folder: Path, heads: int, hidden: int) -> Path:
    """ONNX Runtime's BERT fusions on the fp32 graph, then the bundle's own int8 quantisation."""
    from onnxruntime.transformers import optimizer

    from model.onnx_export import quantize_int8

    fused = optimizer.optimize_model(str(fp32_graph), model_type="bert", num_heads=heads, hidden_size=hidden, opt_level=0)
    print("fused operators:", {k: v for k, v in fused.get_fused_operator_statistics().items() if v}, flush=True)
    fused.save_model_to_file(str(folder / "fused.onnx"))
    quantize_int8(folder / "fused.onnx", folder / "fused.int8.onnx")
    return folder / "fused.int8.onnx"


class OpenVinoSession:
    """The part of an ONNX Runtime session ``OnnxNet`` uses, answered by OpenVINO in bf16."""

    def __init__(self, path: Path):
        import openvino

        self.compiled = openvino.Core().compile_model(str(path), "CPU", {"INFERENCE_PRECISION_HINT": "bf16",
                                                                         "PERFORMANCE_HINT": "LATENCY"})
        self.request = self.compiled.create_infer_request()

    def run(self, names: list[str], feed: dict) -> list[np.ndarray]:
        result = self.request.infer(feed)
        return [result[self.compiled.output(name)] for name in names]


def op_profile(path: Path, batches: list) -> dict[str, float]:
    """ONNX Runtime's own profile: milliseconds per article spent in each operator type."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.enable_profiling = True
    options.profile_file_prefix = str(Path(tempfile.mkdtemp()) / "ort")
    net = OnnxNet(path, "profile")
    net.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    for wb in batches:
        net.run(wb)
    events = json.loads(Path(net.session.end_profiling()).read_text())
    total: collections.Counter = collections.Counter()
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            total[e["args"]["op_name"]] += e["dur"] / 1000 / len(batches)
    return {op: round(ms, 2) for op, ms in total.most_common()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a transformer bundle with its ONNX copies")
    parser.add_argument("--articles", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", default=str(RESULTS / "onnx_floor.json"))
    args = parser.parse_args()

    folder = Path(args.model)
    config = read_config(folder)
    if "onnx" not in config:
        raise SystemExit(f"{folder} has no ONNX copies: run `newslens export-onnx {folder}` first.")
    texts = speed_texts(args.articles)
    served = Predictor.load(folder, runtime="onnx-int8")
    for text in texts[:5]:
        served.predict(text)  # warm-up
    batches, rest_ms = window_batches(served, texts)
    scratch = Path(tempfile.mkdtemp(prefix="newslens-floor-"))
    # The fused graph is made from a fresh fp32 export: the bundle's fp32 copy stores its word
    # embeddings in fp16 behind a Cast, which the quantiser cannot take.
    from model.onnx_export import export_fp32

    torch_predictor = Predictor.load(folder, runtime="torch")
    export_fp32(torch_predictor.model.net, scratch / "plain.onnx")
    encoder = config["encoder"]
    nets = {
        "torch-fp32": torch_predictor.model.net,
        "onnx-fp32": Predictor.load(folder, runtime="onnx-fp32").model.net,
        "onnx-int8": served.model.net,
        "onnx-int8-fused": OnnxNet(fused_int8(scratch / "plain.onnx", scratch, encoder["num_attention_heads"],
                                              encoder["hidden_size"]), "onnx-int8-fused"),
    }
    try:
        nets["openvino-bf16"] = OnnxNet(scratch / "plain.onnx", "openvino-bf16")
        nets["openvino-bf16"].session = OpenVinoSession(scratch / "plain.onnx")
    except ImportError:
        print("openvino is not installed: its row is left out", flush=True)
    reference = [nets["torch-fp32"].run(wb, False) for wb in batches]
    agreement = {}
    for name, net in nets.items():
        outs = [net.run(wb, False) for wb in batches]
        cos = [float(np.dot(a["doc"][0], b["doc"][0]) / np.linalg.norm(a["doc"][0]) / np.linalg.norm(b["doc"][0]))
               for a, b in zip(reference, outs)]
        same = float(np.mean([a["type"].argmax(-1)[0] == b["type"].argmax(-1)[0] for a, b in zip(reference, outs)]))
        agreement[name] = {"doc_cosine_min": min(cos), "doc_cosine_mean": float(np.mean(cos)), "network_type_agreement": same}
    times: dict[str, list[float]] = {name: [] for name in nets}
    for r in range(1, args.rounds + 1):
        for name, net in nets.items():
            for wb in batches:
                started = time.perf_counter()
                net.run(wb, False)
                times[name].append(1000 * (time.perf_counter() - started))
            print(f"round {r}  {name:16} network p50 {statistics.median(times[name][-len(batches):]):6.1f} ms", flush=True)
    windows = [int(wb.input_ids.shape[0]) for wb in batches]
    network = {name: {"p50_ms": statistics.median(t), "mean_ms": statistics.mean(t)} for name, t in times.items()}
    torch_p50 = network["torch-fp32"]["p50_ms"]
    for res in network.values():
        res["ratio_to_torch"] = torch_p50 / res["p50_ms"]
    rest = statistics.median(rest_ms)
    report = {
        "machine": machine(), "model": str(folder), "layers": encoder["num_hidden_layers"],
        "articles": len(batches), "windows_per_article": dict(collections.Counter(windows)),
        "tokens_per_window": int(batches[0].input_ids.shape[1]),
        "network": network, "agreement_with_torch": agreement,
        "rest_of_answer_p50_ms": rest,
        # a whole answer = the network + the rest; the ratio of two whole answers can be no larger
        # than that of their networks, since both carry the same rest
        "whole_answer_estimate_ms": {name: res["p50_ms"] + rest for name, res in network.items()},
        "int8_op_profile_ms": op_profile(Path(nets["onnx-int8"].path), batches[:30]),
    }
    print(f"\n{'network':16} {'p50 ms':>8} {'x torch':>8} {'+ rest':>8} {'doc cos min':>12} {'type agree':>11}")
    for name, res in network.items():
        a = agreement[name]
        print(f"{name:16} {res['p50_ms']:8.1f} {res['ratio_to_torch']:8.2f} {res['p50_ms'] + rest:8.1f} "
              f"{a['doc_cosine_min']:12.4f} {a['network_type_agreement']:11.3f}")
    print(f"rest of an answer (baseline part, tokenising, keywords, draft): p50 {rest:.1f} ms")
    print("int8 network by operator (ms per article):", dict(list(report["int8_op_profile_ms"].items())[:10]))
    write_report(report, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
