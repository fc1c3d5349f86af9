"""How the transformer reads an article: tokens, overlapping windows, and the maps its heads need.

Plain numpy, no torch: the torch network (``model.torch_net``) and the ONNX Runtime one
(``model.onnx_net``) take the same ``WindowBatch``, so both read an article identically.

- The article is tokenised once (``encode_article``) and cut into windows of ``window``
  tokens that overlap by ``overlap``; every token is *owned* by exactly one window (the
  overlap only gives context).
- ``WindowBatch`` holds the padded windows of several articles, which article each window
  belongs to, and which body sentence owns each token.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .text import Sentence

PREFIX = "passage: "  # e5 models expect it before a document
MAX_POSITIONS = 32  # sentence positions with their own embedding; later ones share the last


@dataclass(frozen=True)
class WindowParams:
    """How an article is cut into encoder windows."""

    window: int = 256  # tokens per window, <s> and </s> included (at most the model's 512)
    overlap: int = 32  # context tokens repeated from the previous window
    max_windows: int = 2  # per article (0 = all); bounds the time per article

    def __post_init__(self) -> None:
        if not 16 <= self.window <= 512:
            raise ValueError(f"window must be between 16 and 512 tokens; got {self.window}.")
        if not 0 <= self.overlap <= (self.window - 2) // 2:
            raise ValueError(f"overlap must be between 0 and half the window; got {self.overlap}.")
        if self.max_windows < 0:
            raise ValueError(f"max_windows must be >= 0 (0 = all); got {self.max_windows}.")


@dataclass
class Encoded:
    """One article, tokenised once: content tokens (no specials) and their character spans."""

    ids: np.ndarray  # [n_tokens]
    starts: np.ndarray  # char offset of each token in ``text``
    ends: np.ndarray
    text: str  # what was tokenised: PREFIX + title + "\n" + body
    body_offset: int  # where the body starts in ``text``


def encode_article(tokenizer, title: str, body: str) -> Encoded:
    text = f"{PREFIX}{title}\n" if title else PREFIX
    body_offset = len(text)
    text += body
    enc = tokenizer.encode(text, add_special_tokens=False)
    offsets = np.asarray(enc.offsets, dtype=np.int64).reshape(-1, 2)
    return Encoded(np.asarray(enc.ids, dtype=np.int64), offsets[:, 0], offsets[:, 1], text, body_offset)


def window_spans(n_tokens: int, params: WindowParams, max_windows: int | None = None) -> list[tuple[int, int, int]]:
    """(start, end, owned_from) over content tokens for each window."""
    size = params.window - 2
    stride = size - params.overlap
    limit = params.max_windows if max_windows is None else max_windows
    spans, start = [], 0
    while True:
        end = min(start + size, n_tokens)
        spans.append((start, end, start + params.overlap if spans else start))
        if end >= n_tokens or (limit and len(spans) >= limit):
            return spans
        start += stride


def sentence_of_tokens(enc: Encoded, sentences: list[Sentence]) -> np.ndarray:
    """Index of the body sentence each token falls in (-1: prefix, title or between sentences)."""
    out = np.full(len(enc.ids), -1, dtype=np.int64)
    if not sentences:
        return out
    starts = np.array([s.start for s in sentences]) + enc.body_offset
    ends = np.array([s.end for s in sentences]) + enc.body_offset
    # A token sits where its last character is: a word-start token ("▁Câu") also spans the
    # space before it, which lies between two sentences.
    at = np.maximum(enc.starts, enc.ends - 1)
    idx = np.searchsorted(starts, at, side="right") - 1
    ok = (idx >= 0) & (at < ends[np.clip(idx, 0, None)])
    out[ok] = idx[ok]
    return out


@dataclass
class WindowBatch:
    """Windows of several articles, padded, with the maps the heads need (int64 arrays)."""

    input_ids: np.ndarray  # [W, T]
    attention_mask: np.ndarray  # [W, T]
    window_doc: np.ndarray  # [W] article of each window
    n_docs: int
    token_sentence: np.ndarray  # [W, T] global sentence index of owned body tokens, -1 else
    sentence_doc: np.ndarray  # [S] article of each sentence
    sentence_position: np.ndarray  # [S] index of the sentence in its article
    n_sentences: list[int]  # per article
    token_place: list[dict[int, tuple[int, int]]] = field(default_factory=list)  # per article: token -> (w, t)

    def doc_matrix(self) -> np.ndarray:
        """[D, W]: row d averages the windows of article d (a mean as a product, for ONNX)."""
        m = np.zeros((self.n_docs, len(self.window_doc)), np.float32)
        m[self.window_doc, np.arange(len(self.window_doc))] = 1.0
        return m / np.maximum(m.sum(1, keepdims=True), 1.0)

    def sentence_matrix(self) -> np.ndarray:
        """[S, W*T]: row s averages the tokens sentence s owns (all zero: none encoded)."""
        flat = self.token_sentence.reshape(-1)
        m = np.zeros((len(self.sentence_doc), flat.size), np.float32)
        owned = np.flatnonzero(flat >= 0)
        m[flat[owned], owned] = 1.0
        return m / np.maximum(m.sum(1, keepdims=True), 1.0)

    def covered(self) -> np.ndarray:
        """[S] whether any token of each sentence was encoded."""
        out = np.zeros(len(self.sentence_doc), bool)
        out[self.token_sentence[self.token_sentence >= 0]] = True
        return out


def make_windows(encoded: list[Encoded], sentences: list[list[Sentence]] | None, params: WindowParams,
                 cls_id: int, sep_id: int, pad_id: int, max_windows: int | None = None,
                 keep_places: bool = False) -> WindowBatch:
    rows, docs, owners, places = [], [], [], []
    sentence_doc, sentence_pos, n_sent = [], [], []
    base = 0
    for d, enc in enumerate(encoded):
        sents = sentences[d] if sentences is not None else []
        tok_sent = sentence_of_tokens(enc, sents)
        place = {}
        for start, end, own in window_spans(len(enc.ids), params, max_windows):
            w = len(rows)
            rows.append(np.concatenate([[cls_id], enc.ids[start:end], [sep_id]]))
            owner = np.full(end - start + 2, -1, dtype=np.int64)
            seg = tok_sent[own:end]
            owner[1 + own - start: 1 + end - start] = np.where(seg >= 0, seg + base, -1)
            owners.append(owner)
            docs.append(d)
            if keep_places:
                for i in range(own, end):
                    place[i] = (w, 1 + i - start)
        places.append(place)
        sentence_doc += [d] * len(sents)
        sentence_pos += list(range(len(sents)))
        n_sent.append(len(sents))
        base += len(sents)
    width = max(len(r) for r in rows)
    ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    tok_sent = np.full((len(rows), width), -1, dtype=np.int64)
    for i, (r, o) in enumerate(zip(rows, owners)):
        ids[i, :len(r)] = r
        mask[i, :len(r)] = 1
        tok_sent[i, :len(o)] = o
    return WindowBatch(ids, mask, np.asarray(docs, np.int64), len(encoded), tok_sent,
                       np.asarray(sentence_doc, np.int64), np.asarray(sentence_pos, np.int64), n_sent, places)
