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

Two networks compute the same thing: ``model.torch_net.MultiTaskNet`` (training, and the
fallback) and ``model.onnx_net.OnnxNet`` (ONNX Runtime, fp32 or int8, no torch needed). Both
take the numpy ``WindowBatch`` of ``model.windows`` and return numpy; ``TransformerModel``
only sees that interface, and this module imports neither torch nor onnxruntime itself.

The bundle also holds a TF-IDF baseline (folder ``baseline/``): its calibrated probabilities
and sentence scores are combined with the transformer's using weights chosen on held-out
training data, so the combination is never worse than either part there.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

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
from .windows import Encoded, WindowParams, encode_article, make_windows, window_spans

KIND = "transformer"
WEIGHTS_FILE = "model.safetensors"
TOKENIZER_FILE = "tokenizer.json"
BASELINE_DIR = "baseline"
# Which network answers (``TransformerModel.load(runtime=...)``, or $NEWSLENS_RUNTIME):
# "auto" takes the bundle's ONNX default where onnxruntime is installed, else torch.
RUNTIMES = ("auto", "onnx", "onnx-int8", "onnx-fp32", "torch")
EXPORTS = ("int8", "fp32", "none")  # TransformerModel.onnx: which ONNX copy answers by default


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


# --- the model that answers ------------------------------------------------------------------
@dataclass
class TransformerModel:
    net: Any  # a MultiTaskNet (torch) or an OnnxNet: ``run(WindowBatch)`` -> numpy outputs
    tokenizer: Any  # tokenizers.Tokenizer
    special_ids: dict[str, int]  # cls, sep, pad
    windows: WindowParams
    type_labels: list[str]
    topic_labels: list[str]
    topic_thresholds: np.ndarray
    baseline: BaselineModel
    combination: Combination = field(default_factory=Combination)
    meta: dict[str, Any] = field(default_factory=dict)
    onnx: str = "none"  # what ``save`` adds: "int8" or "fp32" (ONNX copies, that one answering), "none"

    def __post_init__(self) -> None:
        if self.onnx not in EXPORTS:
            raise ValueError(f"onnx must be one of {', '.join(EXPORTS)}; got {self.onnx!r}.")
        if hasattr(self.net, "eval"):
            self.net.eval()
        inner = self.baseline.labels
        self._type_order = _reorder(self.type_labels, inner.types)
        self._topic_order = _reorder(self.topic_labels, inner.topics)

    @property
    def labels(self) -> Labels:
        return Labels(list(self.type_labels), list(self.topic_labels))

    @property
    def runtime(self) -> str:
        """Which network answers: "torch-fp32", "onnx-fp32" or "onnx-int8"."""
        return self.net.runtime

    def explain_type(self, text: str, title: str = "", label: str | None = None, top: int = 10) -> list[tuple[str, float]]:
        # The baseline's per-term weights: the encoder has no exact per-term share to give.
        return self.baseline.explain_type(text, title, label, top)

    def encode(self, texts: list[str], titles: list[str], sentences: list[list[Sentence]],
               max_windows: int | None = None, windows_per_call: int = 16) -> list[dict[str, Any]]:
        """Run the encoder; per article: type/topic probabilities, sentence logits, token states."""
        encoded = [encode_article(self.tokenizer, t, b) for t, b in zip(titles, texts)]
        out: list[dict[str, Any] | None] = [None] * len(encoded)
        # Group articles so one encoder call sees at most ``windows_per_call`` windows, in order
        # of length: a call pads every window to its longest, so short articles go together.
        groups, current, n_windows = [], [], 0
        for i in sorted(range(len(encoded)), key=lambda i: len(encoded[i].ids)):
            w = len(window_spans(len(encoded[i].ids), self.windows, max_windows))
            if current and n_windows + w > windows_per_call:
                groups.append(current)
                current, n_windows = [], 0
            current.append(i)
            n_windows += w
        groups.append(current)
        need_hidden = self.combination.keywords == "mmr"
        for group in groups:
            wb = make_windows([encoded[i] for i in group], [sentences[i] for i in group], self.windows,
                              max_windows=max_windows, keep_places=need_hidden, **self.special_ids)
            res = self.net.run(wb, need_hidden)
            type_p = _softmax(res["type"])
            topic_p = 1.0 / (1.0 + np.exp(-res["topics"]))
            pos = 0
            for k, i in enumerate(group):
                n = wb.n_sentences[k]
                out[i] = dict(type=type_p[k], topics=topic_p[k], doc=res["doc"][k],
                              sentences=res["sentences"][pos:pos + n], covered=res["covered"][pos:pos + n],
                              hidden=res.get("hidden"), place=wb.token_place[k] if need_hidden else {},
                              encoded=encoded[i])
                pos += n
        return out  # type: ignore[return-value]  (every slot filled)

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
                summary=make_summary(base.sentences[i], scores, self.baseline.summary_params, base.excluded[i]),
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
        if not hasattr(self.net, "state_dict"):
            raise ValueError(f"this model answers through {self.runtime}, which has no trainable weights to save; "
                             "load the bundle with runtime='torch' to save it.")
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
            if self.onnx != "none":
                config["onnx"] = add_onnx(writer, self.net, scratch, self.onnx)
            else:
                config.pop("onnx", None)
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
    def load(cls, path: str | os.PathLike, config: dict[str, Any] | None = None,
             runtime: str | None = None) -> "TransformerModel":
        """Load a bundle; ``runtime`` (default $NEWSLENS_RUNTIME, else "auto") picks the network."""
        from tokenizers import Tokenizer

        folder = Path(path)
        config = config or bundle.read_config(folder)
        if config.get("kind") != KIND:
            raise bundle.BundleError(f"{folder}: kind {config.get('kind')!r} is not a {KIND} bundle.")
        chosen = choose_runtime(folder, config, runtime)
        try:
            baseline = BaselineModel.load(folder / BASELINE_DIR)
            if chosen == "torch-fp32":
                net = _load_torch_net(folder, config)
            else:
                from .onnx_net import OnnxNet

                file = folder / config["onnx"]["files"][chosen]
                net = _read_bundle_file(file, lambda p: OnnxNet(p, chosen, threads=runtime_threads()))
                widths = (net.width("type"), net.width("topics"))
                if widths != (max(len(config["type_labels"]), 1), max(len(config["topic_labels"]), 1)):
                    raise ValueError(f"{file.name} answers {widths[0]} types and {widths[1]} topics; the config "
                                     f"lists {len(config['type_labels'])} and {len(config['topic_labels'])}")
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
                onnx=str(config.get("onnx", {}).get("default", "none")).replace("onnx-", ""),
            )
        except (KeyError, TypeError, ValueError, RuntimeError, OSError, AttributeError, IndexError) as e:
            if isinstance(e, bundle.BundleError):
                raise
            raise bundle.BundleError(f"{folder}: damaged or inconsistent bundle ({type(e).__name__}: {e}).") from None


def _installed(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def choose_runtime(folder: Path, config: dict[str, Any], runtime: str | None = None) -> str:
    """The network that will answer: "torch-fp32", "onnx-fp32" or "onnx-int8".

    ``runtime`` (else $NEWSLENS_RUNTIME, else "auto"): "auto" takes the bundle's ONNX default
    where onnxruntime is installed and torch otherwise; "onnx" the bundle's ONNX default.
    """
    asked = runtime or os.environ.get("NEWSLENS_RUNTIME") or "auto"
    asked = {"torch-fp32": "torch"}.get(asked, asked)
    if asked not in RUNTIMES:
        raise ValueError(f"unknown runtime {asked!r}; choose one of {', '.join(RUNTIMES)} (NEWSLENS_RUNTIME).")
    onnx = config.get("onnx") or {}
    files = onnx.get("files") or {}
    default = onnx.get("default") if onnx.get("default") in files else next(iter(files), None)
    if asked == "auto":
        asked = "onnx" if default and _installed("onnxruntime") else "torch"
    if asked == "torch":
        if not (_installed("torch") and _installed("transformers") and _installed("safetensors")):
            hint = (" or install onnxruntime (`pip install 'newslens[serve]'`) to answer with its ONNX copy"
                    if default else "; or add an ONNX copy with `newslens export-onnx` on a machine that has torch, "
                    "then serve it with `pip install 'newslens[serve]'`")
            raise bundle.BundleError(f"{folder}: answering with torch needs torch, transformers and safetensors "
                                     f"(`pip install 'newslens[transformer]'`){hint}.")
        return "torch-fp32"
    wanted = default if asked == "onnx" else asked
    if not wanted or wanted not in files:
        raise bundle.BundleError(f"{folder}: this bundle has no {asked} copy (it has: {', '.join(files) or 'none'}); "
                                 f"add one with `newslens export-onnx {folder}`.")
    if not _installed("onnxruntime"):
        raise bundle.BundleError(f"{folder}: answering with {wanted} needs onnxruntime: `pip install 'newslens[serve]'`.")
    return wanted


def runtime_threads() -> int:
    """Threads for the network ($NEWSLENS_THREADS; 0 = the runtime's default, one per core).
    ``newslens batch`` sets it so that N worker processes share the cores instead of fighting."""
    value = os.environ.get("NEWSLENS_THREADS", "0")
    if not value.isdigit():
        raise ValueError(f"NEWSLENS_THREADS must be a whole number (0 = one per core); got {value!r}.")
    return int(value)


def _load_torch_net(folder: Path, config: dict[str, Any]):
    from safetensors.torch import load_file

    from .torch_net import MultiTaskNet, build_encoder

    if runtime_threads():
        import torch

        torch.set_num_threads(runtime_threads())
    net = MultiTaskNet(build_encoder(config["encoder"]), len(config["type_labels"]), len(config["topic_labels"]))
    state = {k: v.float() for k, v in _read_bundle_file(folder / WEIGHTS_FILE, load_file).items()}
    missing, unexpected = net.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith(("position_ids", "token_type_ids"))]
    if missing or unexpected:
        raise ValueError(f"weights do not match the config: missing {missing[:3]}, unexpected {unexpected[:3]}")
    return net


def add_onnx(writer: bundle.BundleWriter, net: Any, scratch: Path, default: str) -> dict[str, Any]:
    """Export ``net`` as ONNX (fp32 and int8) into ``writer``; the config block that lists them."""
    from .onnx_export import export

    info = export(net, scratch)
    for name in info["files"].values():
        writer.add_file(name, scratch / name)
    return {**info, "default": f"onnx-{default}"}


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


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


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
    return enc["hidden"][list(w), list(t)].mean(0)


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
