"""The transformer's network through ONNX Runtime: no torch, no transformers.

``model.onnx_export`` writes the fine-tuned encoder with its heads as one graph (and an int8
copy); ``OnnxNet`` answers with it, taking the same ``WindowBatch`` as the torch network and
returning the same numpy outputs.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .windows import WindowBatch

INPUTS = ("input_ids", "attention_mask", "doc_matrix", "sentence_matrix", "sentence_doc", "sentence_position")
OUTPUTS = ("type", "topics", "doc", "sentences", "hidden")


class OnnxNet:
    """An ONNX Runtime session over a NewsLens transformer graph; ``runtime`` names it ("onnx-int8")."""

    def __init__(self, path: str | os.PathLike, runtime: str, threads: int = 0):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads  # 0: ONNX Runtime's default, one per physical core
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.path = Path(path)
        self.runtime = runtime
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        names = tuple(i.name for i in self.session.get_inputs())
        if names != INPUTS:
            raise ValueError(f"{path}: graph inputs {names} are not a NewsLens transformer's {INPUTS}")

    def width(self, output: str) -> int | str:
        """The last dimension of an output ("type": the number of type labels)."""
        return next(o.shape[-1] for o in self.session.get_outputs() if o.name == output)

    def run(self, wb: WindowBatch, need_hidden: bool = False) -> dict[str, np.ndarray]:
        n_sentences = len(wb.sentence_doc)
        sentence_matrix = wb.sentence_matrix()
        sentence_doc, sentence_position = wb.sentence_doc, wb.sentence_position
        if n_sentences == 0:  # the graph wants one sentence row at least: a dummy one, dropped below
            sentence_matrix = np.zeros((1, wb.input_ids.size), np.float32)
            sentence_doc = sentence_position = np.zeros(1, np.int64)
        feed = dict(zip(INPUTS, (wb.input_ids, wb.attention_mask, wb.doc_matrix(), sentence_matrix,
                                 sentence_doc, sentence_position)))
        wanted = [o for o in OUTPUTS if need_hidden or o != "hidden"]
        out = dict(zip(wanted, self.session.run(wanted, feed)))
        out["sentences"] = out["sentences"][:n_sentences]
        out["covered"] = wb.covered()
        return out
