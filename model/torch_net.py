"""The transformer's network in torch: a BERT encoder and four heads (training, and answering
where a bundle has no ONNX copy or ``runtime="torch"`` is asked for).

``MultiTaskNet.forward`` takes a ``Batch`` (torch tensors, for training); ``run`` takes the
numpy ``WindowBatch`` every runtime shares and returns numpy, like ``model.onnx_net.OnnxNet``.
``ExportNet`` is the same computation written with matrix products and plain tensor inputs,
which is what ``model.onnx_export`` writes as an ONNX graph.
"""
from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

import numpy as np
import torch
from torch import nn

from .windows import MAX_POSITIONS, Encoded, WindowBatch, WindowParams, make_windows
from .text import Sentence

RUNTIME = "torch-fp32"


class Batch(WindowBatch):
    """A ``WindowBatch`` whose arrays are torch tensors (what ``MultiTaskNet.forward`` takes)."""

    @classmethod
    def from_windows(cls, wb: WindowBatch) -> "Batch":
        return cls(**{f.name: torch.from_numpy(v) if isinstance(v, np.ndarray) else v
                      for f in fields(WindowBatch) for v in [getattr(wb, f.name)]})

    def to(self, device: torch.device | str) -> "Batch":
        """The same batch with its tensors on ``device`` (training on a GPU)."""
        moved = {f: getattr(self, f).to(device) for f in ("input_ids", "attention_mask", "window_doc", "token_sentence",
                                                           "sentence_doc", "sentence_position")}
        return replace(self, **moved)


def make_batch(encoded: list[Encoded], sentences: list[list[Sentence]] | None, params: WindowParams,
               cls_id: int, sep_id: int, pad_id: int, max_windows: int | None = None,
               keep_places: bool = False) -> Batch:
    return Batch.from_windows(make_windows(encoded, sentences, params, cls_id, sep_id, pad_id, max_windows, keep_places))


def _scatter_mean(values: torch.Tensor, index: torch.Tensor, n: int) -> torch.Tensor:
    """Mean of rows of ``values`` [N, H] grouped by ``index`` [N] into ``n`` groups (0 for empty)."""
    out = values.new_zeros((n, values.shape[-1])).index_add_(0, index, values)
    count = values.new_zeros(n).index_add_(0, index, values.new_ones(index.shape[0]))
    return out / count.clamp(min=1).unsqueeze(-1)


class MultiTaskNet(nn.Module):
    """A BERT encoder and four heads; ``forward`` returns every head's logits for a ``Batch``."""

    runtime = RUNTIME

    def __init__(self, encoder: nn.Module, n_types: int, n_topics: int, dropout: float = 0.1):
        super().__init__()
        self.encoder = encoder
        hidden = encoder.config.hidden_size
        self.dropout = nn.Dropout(dropout)
        self.type_head = nn.Linear(hidden, max(n_types, 1))
        self.topics_head = nn.Linear(hidden, max(n_topics, 1))
        self.sentence_position = nn.Embedding(MAX_POSITIONS, hidden)
        nn.init.zeros_(self.sentence_position.weight)
        self.sentence_head = nn.Sequential(nn.Linear(3 * hidden, hidden), nn.GELU(), nn.Linear(hidden, 1))

    def forward(self, batch: Batch) -> dict[str, torch.Tensor]:
        batch = batch.to(self.type_head.weight.device)  # a no-op on the CPU
        hidden = self.encoder(input_ids=batch.input_ids, attention_mask=batch.attention_mask).last_hidden_state
        mask = batch.attention_mask.unsqueeze(-1).to(hidden.dtype)
        window_vec = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
        doc_vec = _scatter_mean(window_vec, batch.window_doc, batch.n_docs)
        out = {"hidden": hidden, "doc": doc_vec,
               "type": self.type_head(self.dropout(doc_vec)), "topics": self.topics_head(self.dropout(doc_vec))}
        n_sentences = int(batch.sentence_doc.shape[0])
        if n_sentences:
            owned = batch.token_sentence >= 0
            sent_vec = _scatter_mean(hidden[owned], batch.token_sentence[owned], n_sentences)
            covered = torch.zeros(n_sentences, dtype=torch.bool, device=hidden.device).index_fill_(0, batch.token_sentence[owned], True)
            sent_vec = sent_vec + self.sentence_position(batch.sentence_position.clamp(max=MAX_POSITIONS - 1))
            doc = doc_vec[batch.sentence_doc]
            features = torch.cat([sent_vec, doc, sent_vec * doc], dim=-1)
            out["sentences"] = self.sentence_head(self.dropout(features)).squeeze(-1)
            out["covered"] = covered
        return out

    def run(self, wb: WindowBatch, need_hidden: bool = True) -> dict[str, np.ndarray]:
        """Every head's output for a ``WindowBatch``, as numpy (the runtime interface; the token
        states come along whether or not ``need_hidden`` asks for them)."""
        with torch.inference_mode():
            res = {k: v.cpu().numpy() for k, v in self(Batch.from_windows(wb)).items()}  # the net may sit on a GPU
        res.setdefault("sentences", np.zeros(0, np.float32))
        res.setdefault("covered", np.zeros(0, bool))
        return res


class ExportNet(nn.Module):
    """``MultiTaskNet`` (in eval mode) over plain tensors, for ``torch.onnx.export``.

    The means by article and by sentence become products with the matrices of
    ``WindowBatch.doc_matrix`` / ``sentence_matrix`` (index_add has no portable ONNX form);
    there must be at least one sentence row (``OnnxNet`` adds a dummy one).
    """

    def __init__(self, net: MultiTaskNet):
        super().__init__()
        self.net = net

    def forward(self, input_ids, attention_mask, doc_matrix, sentence_matrix, sentence_doc, sentence_position):
        net = self.net
        hidden = net.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        window_vec = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
        doc_vec = doc_matrix @ window_vec
        sent_vec = sentence_matrix @ hidden.reshape(-1, hidden.shape[-1])
        sent_vec = sent_vec + net.sentence_position(sentence_position.clamp(max=MAX_POSITIONS - 1))
        doc = doc_vec[sentence_doc]
        sentences = net.sentence_head(torch.cat([sent_vec, doc, sent_vec * doc], dim=-1)).squeeze(-1)
        return net.type_head(doc_vec), net.topics_head(doc_vec), doc_vec, sentences, hidden


def build_encoder(config: dict[str, Any]) -> nn.Module:
    """A BertModel from a config dict (no weights): for loading bundles and for tests."""
    from transformers import BertConfig, BertModel

    return BertModel(BertConfig(**config), add_pooling_layer=False)
