"""Write a transformer network as ONNX: an fp32 graph and an int8 dynamically quantised copy.

Needs torch (to trace the network), onnx and onnxruntime (to quantise): a training-side
step, kept beside the bundle code it writes for. ``TransformerModel.save`` calls ``export``
when the model's ``onnx`` setting asks for it; ``newslens export-onnx BUNDLE`` adds the files
to a bundle saved without them.

- Axes: windows, tokens, articles and sentences are all dynamic.
- int8: ``onnxruntime.quantization.quantize_dynamic`` (int8 weights,
  activations quantised on the fly), from the fp32 graph.
- The fp32 graph keeps its word embeddings in fp16 (a Gather, then a Cast): they were
  4-bit to begin with and are frozen, exactly as ``model.safetensors`` stores them; the
  250k-row table is most of the file, so this halves it.
"""
from __future__ import annotations

import logging
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .onnx_net import INPUTS, OUTPUTS
from .torch_net import ExportNet, MultiTaskNet

log = logging.getLogger("newslens.onnx")
FP32_FILE = "model.onnx"
INT8_FILE = "model.int8.onnx"
RUNTIME_FILES = {"onnx-fp32": FP32_FILE, "onnx-int8": INT8_FILE}
OPSET = 17


def _example_inputs(vocab: int) -> tuple[torch.Tensor, ...]:
    """Two windows of 12 tokens (one padded), two articles, three sentences: every axis > 1."""
    ids = torch.randint(4, max(vocab, 5), (2, 12))
    mask = torch.ones_like(ids)
    mask[1, 8:] = 0
    doc = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    sentence = torch.zeros(3, 24)
    sentence[0, 1:4] = 1 / 3
    sentence[1, 4:8] = 1 / 4
    sentence[2, 13:15] = 1 / 2
    return ids, mask, doc, sentence, torch.tensor([0, 0, 1]), torch.tensor([0, 1, 0])


def export_fp32(net: MultiTaskNet, path: Path) -> None:
    """Trace ``net`` (in eval mode, on the CPU) into an ONNX file at ``path``.

    Attention is traced in its plain ("eager") form, not torch's fused SDPA: the same
    numbers, but ONNX Runtime runs its int8 copy 1.6x faster (measured on the default bundle:
    30 ms vs 48 ms for two 256-token windows on 2 cores).
    """
    was_training = net.training
    attention = net.encoder.config._attn_implementation
    net.eval()
    net.encoder.set_attn_implementation("eager")
    wrapper = ExportNet(net).eval()
    axes = {"input_ids": {0: "windows", 1: "tokens"}, "attention_mask": {0: "windows", 1: "tokens"},
            "doc_matrix": {0: "articles", 1: "windows"}, "sentence_matrix": {0: "sentences", 1: "window_tokens"},
            "sentence_doc": {0: "sentences"}, "sentence_position": {0: "sentences"},
            "type": {0: "articles"}, "topics": {0: "articles"}, "doc": {0: "articles"}, "sentences": {0: "sentences"},
            "hidden": {0: "windows", 1: "tokens"}}
    try:
        # The tracer's warnings (Python conditionals traced as constants, the exporter's own
        # deprecation) concern shapes the axes above make dynamic; the parity tests check them.
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # The TorchScript exporter: seconds, where torch.export takes minutes on a BERT and
            # needs onnxscript; its graphs are what ONNX Runtime's quantiser is tested on.
            torch.onnx.export(wrapper, _example_inputs(net.encoder.config.vocab_size), str(path),
                              input_names=list(INPUTS), output_names=list(OUTPUTS), dynamic_axes=axes,
                              opset_version=OPSET, do_constant_folding=True, dynamo=False)
    finally:
        net.train(was_training)  # the exporter restores modes recursively; put ours back
        net.encoder.set_attn_implementation(attention)


def quantize_int8(source: Path, target: Path) -> None:
    """Dynamic int8: weights per output channel (per tensor, the document vectors of the default
    bundle kept a cosine of 0.961 to fp32's and 94% of the network's type choices; per channel,
    0.992 and 100% of 48 recent/test articles, at the same speed)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True,
                     # the traced graph's shapes are symbolic; what shape inference cannot type is float
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})


def embeddings_to_fp16(path: Path) -> None:
    """Store the word-embedding table of the graph at ``path`` in fp16, cast back after the lookup."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    for node in graph.node:
        if node.op_type == "Gather" and node.input[0] in inits and "word_embeddings" in node.input[0]:
            init = inits[node.input[0]]
            half = numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), init.name)
            init.CopyFrom(half)
            out = node.output[0]
            node.output[0] = f"{out}_fp16"
            cast = helper.make_node("Cast", [node.output[0]], [out], to=onnx.TensorProto.FLOAT, name=f"{node.name}_cast")
            graph.node.insert(list(graph.node).index(node) + 1, cast)
            break
    onnx.save(model, str(path))


def export(net: MultiTaskNet, folder: Path, int8: bool = True) -> dict[str, Any]:
    """Write ``model.onnx`` (and ``model.int8.onnx``) into ``folder``; returns what was written."""
    started = time.perf_counter()
    export_fp32(net, folder / FP32_FILE)
    files = {"onnx-fp32": FP32_FILE}
    if int8:
        quantize_int8(folder / FP32_FILE, folder / INT8_FILE)
        files["onnx-int8"] = INT8_FILE
    embeddings_to_fp16(folder / FP32_FILE)
    log.info("ONNX export: %s in %.1f s", ", ".join(files.values()), time.perf_counter() - started)
    return {"files": files, "opset": OPSET}


def export_bundle(folder: str | Path, default: str = "int8") -> dict[str, Any]:
    """Add ONNX copies to a saved transformer bundle (``newslens export-onnx``); returns the config block.

    The bundle is rebuilt beside itself and swapped in (``bundle.update``): an interrupted
    export leaves the bundle as it was.
    """
    import shutil
    import tempfile

    from . import bundle
    from .transformer import KIND, TransformerModel

    if default not in ("int8", "fp32"):
        raise ValueError(f"default must be 'int8' or 'fp32'; got {default!r}.")
    folder = Path(folder)
    config = bundle.read_config(folder)
    if config.get("kind") != KIND:
        raise bundle.BundleError(f"{folder}: a {config.get('kind')} bundle has no network to export; "
                                 f"only {KIND} bundles do.")
    model = TransformerModel.load(folder, config, runtime="torch")
    scratch = Path(tempfile.mkdtemp(prefix=".newslens-onnx-"))
    try:
        info = export(model.net, scratch)
        block = {**info, "default": f"onnx-{default}"}
        bundle.update(folder, files={name: scratch / name for name in info["files"].values()}, config={"onnx": block})
        return block
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
