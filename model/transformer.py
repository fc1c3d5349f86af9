"""The transformer kind: one fine-tuned multilingual encoder with four heads, plus the baseline.

- The article is encoded once, in windows of ``window`` tokens that overlap by ``overlap``;
  every token is *owned* by exactly one window (the overlap only gives context).
- type / topics: the attention-masked mean of each window, averaged over the windows, into a
  softmax (type) or per-label sigmoids (topics);
- summary: each sentence is the mean of its owned tokens, scored BertSumExt-style against the
  document vector (plus a position embedding); sentences past the encoded windows keep the
  baseline's score alone;
- keywords: the baseline's ranking by default; optionally (``keywords="mmr"``) its candidate
  phrases re-ranked KeyBERT-style by the similarity of their contextual embedding to the
  document, with maximal marginal relevance. Measured on vims/all (editorial tags), the
  re-ranking scored F1@5 0.025 exact / 0.070 partial against the baseline's 0.127 / 0.314,
  so it is off unless asked for.

The bundle also holds a TF-IDF baseline (folder ``baseline/``): its calibrated probabilities
and sentence scores are combined with the transformer's using weights chosen on held-out
training data, so the combination is never worse than either part there.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from . import bundle
from .baseline import (
    BaselineModel,
    choose_topics,
    make_summary,
    topic_predictions,
    type_predictions,
)
from .interface import Analysis, Labels
from .results import Keyword, TopicsPrediction
from .text import Sentence

KIND = "transformer"
WEIGHTS_FILE = "model.safetensors"
TOKENIZER_FILE = "tokenizer.json"
BASELINE_DIR = "baseline"
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


@dataclass(frozen=True)
class Combination:
    """Weight of the transformer in each combined score (1 = transformer alone, 0 = baseline alone)."""

    type: float = 0.5
    topics: float = 0.5
    summary: float = 0.5
    keywords: str = "baseline"  # or "mmr": KeyBERT-style re-ranking (worse on vims/all, see above)
    mmr_diversity: float = 0.3

    def __post_init__(self) -> None:
        if self.keywords not in ("baseline", "mmr"):
            raise ValueError(f"combination.keywords must be 'baseline' or 'mmr'; got {self.keywords!r}.")
        for name in ("type", "topics", "summary"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"combination.{name} must be between 0 and 1; got {getattr(self, name)!r}.")


# --- tokenising and windows ---------------------------------------------------------------
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
class Batch:
    """Windows of several articles, padded, with the maps the heads need."""

    input_ids: torch.Tensor  # [W, T]
    attention_mask: torch.Tensor  # [W, T]
    window_doc: torch.Tensor  # [W] article of each window
    n_docs: int
    token_sentence: torch.Tensor  # [W, T] global sentence index of owned body tokens, -1 else
    sentence_doc: torch.Tensor  # [S] article of each sentence
    sentence_position: torch.Tensor  # [S] index of the sentence in its article
    n_sentences: list[int]  # per article
    token_place: list[dict[int, tuple[int, int]]] = field(default_factory=list)  # per article: token -> (w, t)

    def to(self, device: torch.device | str) -> "Batch":
        """The same batch with its tensors on ``device`` (training on a GPU)."""
        moved = {f: getattr(self, f).to(device) for f in ("input_ids", "attention_mask", "window_doc", "token_sentence",
                                                           "sentence_doc", "sentence_position")}
        return replace(self, **moved)


def make_batch(encoded: list[Encoded], sentences: list[list[Sentence]] | None, params: WindowParams,
               cls_id: int, sep_id: int, pad_id: int, max_windows: int | None = None,
               keep_places: bool = False) -> Batch:
    rows, docs, owners, places = [], [], [], []
    sentence_doc, sentence_pos, n_sent = [], [], []
    base = 0
    for d, enc in enumerate(encoded):
        sents = sentences[d] if sentences is not None else []
        tok_sent = sentence_of_tokens(enc, sents)
        place = {}
        for start, end, own in window_spans(len(enc.ids), params, max_windows):
            w = len(rows)
            rows.append([cls_id, *enc.ids[start:end].tolist(), sep_id])
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
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    tok_sent = torch.full((len(rows), width), -1, dtype=torch.long)
    for i, (r, o) in enumerate(zip(rows, owners)):
        ids[i, :len(r)] = torch.tensor(r)
        mask[i, :len(r)] = 1
        tok_sent[i, :len(o)] = torch.from_numpy(o)
    return Batch(ids, mask, torch.tensor(docs), len(encoded), tok_sent, torch.tensor(sentence_doc, dtype=torch.long),
                 torch.tensor(sentence_pos, dtype=torch.long), n_sent, places)


# --- the network -----------------------------------------------------------------------------
def _scatter_mean(values: torch.Tensor, index: torch.Tensor, n: int) -> torch.Tensor:
    """Mean of rows of ``values`` [N, H] grouped by ``index`` [N] into ``n`` groups (0 for empty)."""
    out = values.new_zeros((n, values.shape[-1])).index_add_(0, index, values)
    count = values.new_zeros(n).index_add_(0, index, values.new_ones(index.shape[0]))
    return out / count.clamp(min=1).unsqueeze(-1)


class MultiTaskNet(nn.Module):
    """A BERT encoder and four heads; ``forward`` returns every head's logits for a ``Batch``."""

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


def build_encoder(config: dict[str, Any]) -> nn.Module:
    """A BertModel from a config dict (no weights): for loading bundles and for tests."""
    from transformers import BertConfig, BertModel

    return BertModel(BertConfig(**config), add_pooling_layer=False)


# --- the model that answers ------------------------------------------------------------------
@dataclass
class TransformerModel:
    net: MultiTaskNet
    tokenizer: Any  # tokenizers.Tokenizer
    special_ids: dict[str, int]  # cls, sep, pad
    windows: WindowParams
    type_labels: list[str]
    topic_labels: list[str]
    topic_thresholds: np.ndarray
    baseline: BaselineModel
    combination: Combination = field(default_factory=Combination)
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.net.eval()
        inner = self.baseline.labels
        self._type_order = _reorder(self.type_labels, inner.types)
        self._topic_order = _reorder(self.topic_labels, inner.topics)

    @property
    def labels(self) -> Labels:
        return Labels(list(self.type_labels), list(self.topic_labels))

    def explain_type(self, text: str, title: str = "", label: str | None = None, top: int = 10) -> list[tuple[str, float]]:
        # The baseline's per-term weights: the encoder has no exact per-term share to give.
        return self.baseline.explain_type(text, title, label, top)

    def encode(self, texts: list[str], titles: list[str], sentences: list[list[Sentence]],
               max_windows: int | None = None, windows_per_call: int = 16) -> list[dict[str, Any]]:
        """Run the encoder; per article: type/topic probabilities, sentence logits, token states."""
        encoded = [encode_article(self.tokenizer, t, b) for t, b in zip(titles, texts)]
        out: list[dict[str, Any]] = []
        # Group articles so one encoder call sees at most ``windows_per_call`` windows.
        groups, current, n_windows = [], [], 0
        for i, enc in enumerate(encoded):
            w = len(window_spans(len(enc.ids), self.windows, max_windows))
            if current and n_windows + w > windows_per_call:
                groups.append(current)
                current, n_windows = [], 0
            current.append(i)
            n_windows += w
        groups.append(current)
        with torch.inference_mode():
            for group in groups:
                batch = make_batch([encoded[i] for i in group], [sentences[i] for i in group], self.windows,
                                   max_windows=max_windows, keep_places=True, **self.special_ids)
                res = {k: v.cpu() for k, v in self.net(batch).items()}  # the net may sit on a GPU
                type_p = torch.softmax(res["type"], -1).numpy()
                topic_p = torch.sigmoid(res["topics"]).numpy()
                s_logits = res["sentences"].numpy() if "sentences" in res else np.zeros(0)
                covered = res["covered"].numpy() if "covered" in res else np.zeros(0, bool)
                pos = 0
                for k, i in enumerate(group):
                    n = batch.n_sentences[k]
                    out.append(dict(type=type_p[k], topics=topic_p[k], doc=res["doc"][k].numpy(),
                                    sentences=s_logits[pos:pos + n], covered=covered[pos:pos + n],
                                    hidden=res["hidden"], place=batch.token_place[k], encoded=encoded[i]))
                    pos += n
        return out

    def analyse(self, texts: list[str], titles: list[str] | None = None) -> list[Analysis]:
        base = self.baseline.scores(texts, titles)
        enc = self.encode(base.texts, base.titles, base.sentences)
        c = self.combination
        n = len(base.texts)
        type_p = None
        if self.type_labels and base.type_proba is not None:
            type_p = c.type * np.stack([e["type"] for e in enc]) + (1 - c.type) * base.type_proba[:, self._type_order]
        topic_p = None
        if self.topic_labels and base.topic_proba is not None:
            topic_p = c.topics * np.stack([e["topics"] for e in enc]) + (1 - c.topics) * base.topic_proba[:, self._topic_order]
        types = type_predictions(self.type_labels, type_p, n)
        topics = [TopicsPrediction([], {})] * n if topic_p is None else \
            topic_predictions(self.topic_labels, topic_p, choose_topics(topic_p, self.topic_thresholds))
        out = []
        for i in range(n):
            scores = combine_sentence_scores(base.sentence_scores[i], enc[i]["sentences"], enc[i]["covered"], c.summary)
            out.append(Analysis(
                type=types[i],
                topics=topics[i],
                keywords=self.keywords(base.titles[i], base.texts[i], enc[i]),
                summary=make_summary(base.sentences[i], scores, self.baseline.summary_params, base.furniture[i]),
            ))
        return out

    def keywords(self, title: str, text: str, enc: dict[str, Any]) -> list[Keyword]:
        top_k = self.baseline.keyword_params.top_k
        if self.combination.keywords != "mmr":
            return self.baseline.keywords(title, text)
        candidates = self.baseline.keywords(title, text, top_k=3 * top_k)
        vectors, kept = [], []
        for kw in candidates:
            v = phrase_vector(kw.phrase, enc)
            if v is not None:
                vectors.append(v)
                kept.append(kw)
        if len(kept) <= top_k:
            return candidates[:top_k]
        order = mmr(np.stack(vectors), enc["doc"], top_k, self.combination.mmr_diversity)
        sims = _cosine(np.stack(vectors), enc["doc"][None])[:, 0]
        return [Keyword(kept[j].phrase, round(float(sims[j]), 6)) for j in order]

    # --- bundle I/O ----------------------------------------------------------------------
    def save(self, path: str | os.PathLike, card: str, extra_config: dict[str, Any] | None = None) -> Path:
        from safetensors.torch import save_file

        config: dict[str, Any] = {
            "kind": KIND,
            "encoder": self.net.encoder.config.to_diff_dict() | {"num_hidden_layers": self.net.encoder.config.num_hidden_layers},
            "special_ids": self.special_ids,
            "windows": asdict(self.windows),
            "type_labels": self.type_labels,
            "topic_labels": self.topic_labels,
            "topic_thresholds": [round(float(t), 6) for t in self.topic_thresholds],
            "combination": asdict(self.combination),
        }
        config.update(self.meta)
        config.update(extra_config or {})
        writer = bundle.BundleWriter(path)
        scratch = Path(tempfile.mkdtemp(prefix=".newslens-save-"))
        try:
            state = {k: v.detach().contiguous() for k, v in self.net.state_dict().items()}
            # The word embeddings are frozen and were 4-bit to begin with: fp16 halves the bundle.
            key = "encoder.embeddings.word_embeddings.weight"
            state[key] = state[key].half()
            save_file(state, str(scratch / WEIGHTS_FILE))
            writer.add_file(WEIGHTS_FILE, scratch / WEIGHTS_FILE)
            self.tokenizer.save(str(scratch / TOKENIZER_FILE))
            writer.add_file(TOKENIZER_FILE, scratch / TOKENIZER_FILE)
            self.baseline.save(scratch / BASELINE_DIR, card="TF-IDF part of a NewsLens transformer bundle.\n")
            for file in sorted((scratch / BASELINE_DIR).iterdir()):
                writer.add_file(f"{BASELINE_DIR}/{file.name}", file)
            return writer.commit(config, card)
        except BaseException:
            writer.abort()
            raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    @classmethod
    def load(cls, path: str | os.PathLike, config: dict[str, Any] | None = None) -> "TransformerModel":
        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        folder = Path(path)
        config = config or bundle.read_config(folder)
        if config.get("kind") != KIND:
            raise bundle.BundleError(f"{folder}: kind {config.get('kind')!r} is not a {KIND} bundle.")
        try:
            baseline = BaselineModel.load(folder / BASELINE_DIR)
            net = MultiTaskNet(build_encoder(config["encoder"]), len(config["type_labels"]), len(config["topic_labels"]))
            state = {k: v.float() for k, v in _read_bundle_file(folder / WEIGHTS_FILE, load_file).items()}
            missing, unexpected = net.load_state_dict(state, strict=False)
            missing = [k for k in missing if not k.endswith(("position_ids", "token_type_ids"))]
            if missing or unexpected:
                raise ValueError(f"weights do not match the config: missing {missing[:3]}, unexpected {unexpected[:3]}")
            return cls(
                net=net,
                tokenizer=_read_bundle_file(folder / TOKENIZER_FILE, Tokenizer.from_file),
                special_ids={k: int(v) for k, v in config["special_ids"].items()},
                windows=WindowParams(**config["windows"]),
                type_labels=list(config["type_labels"]),
                topic_labels=list(config["topic_labels"]),
                topic_thresholds=np.asarray(config["topic_thresholds"], np.float32),
                baseline=baseline,
                combination=Combination(**config["combination"]),
                meta={k: config[k] for k in bundle.META_KEYS if k in config},
            )
        except (KeyError, TypeError, ValueError, RuntimeError, OSError, AttributeError, IndexError) as e:
            if isinstance(e, bundle.BundleError):
                raise
            raise bundle.BundleError(f"{folder}: damaged or inconsistent bundle ({type(e).__name__}: {e}).") from None


def _read_bundle_file(path: Path, read: Any) -> Any:
    """``read(str(path))``; any failure (safetensors and tokenizers raise their own exception
    types on a truncated file) is a ``BundleError`` that names the file."""
    try:
        return read(str(path))
    except Exception as e:  # noqa: BLE001 - the libraries' errors share no base class but Exception
        raise bundle.BundleError(f"{path}: damaged bundle file ({type(e).__name__}: {e}). "
                                 "Retrain or restore the bundle.") from None


# --- small pieces shared with training -------------------------------------------------------
def _reorder(labels: list[str], other: list[str]) -> list[int]:
    """Column order that puts ``other``'s probabilities in ``labels`` order (both must agree)."""
    if not labels or not other:
        return []
    if sorted(labels) != sorted(other):
        raise bundle.BundleError(f"transformer labels {labels} differ from the baseline's {other}.")
    return [other.index(l) for l in labels]


def _standardise(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / (x.std() + 1e-6) if x.size else x


def combine_sentence_scores(baseline: np.ndarray, transformer: np.ndarray, covered: np.ndarray, weight: float) -> np.ndarray:
    """Weighted sum of per-article standardised scores; uncovered sentences get the transformer's minimum."""
    if weight <= 0 or not covered.any():
        return baseline
    t = transformer.copy()
    t[~covered] = t[covered].min()
    return weight * _standardise(t) + (1 - weight) * _standardise(baseline)


def phrase_vector(phrase: str, enc: dict[str, Any]) -> np.ndarray | None:
    """Contextual embedding of a phrase: the mean of its tokens' states at its first occurrence."""
    e: Encoded = enc["encoded"]
    at = e.text.lower().find(phrase.lower())
    if at < 0:
        return None
    tokens = np.flatnonzero((e.ends > at) & (e.starts < at + len(phrase)))
    places = [enc["place"][t] for t in tokens if t in enc["place"]]
    if not places:
        return None
    w, t = zip(*places)
    return enc["hidden"][list(w), list(t)].mean(0).numpy()


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / (np.linalg.norm(a, axis=-1, keepdims=True) + 1e-9)
    b = b / (np.linalg.norm(b, axis=-1, keepdims=True) + 1e-9)
    return a @ b.T


def mmr(candidates: np.ndarray, doc: np.ndarray, k: int, diversity: float) -> list[int]:
    """Maximal marginal relevance: relevant to the document, unlike what is already chosen."""
    relevance = _cosine(candidates, doc[None])[:, 0]
    between = _cosine(candidates, candidates)
    chosen = [int(relevance.argmax())]
    while len(chosen) < min(k, len(candidates)):
        rest = [j for j in range(len(candidates)) if j not in chosen]
        score = (1 - diversity) * relevance[rest] - diversity * between[np.ix_(rest, chosen)].max(1)
        chosen.append(rest[int(score.argmax())])
    return chosen
