"""The one inference core: ``Predictor`` is what ``predict``, the CLI and the app call."""
from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path
from typing import Sequence

from . import bundle, limits, paths
from .baseline import KIND as BASELINE_KIND
from .baseline import BaselineModel
from .interface import Labels, NewsModel
from .results import Explanation, ModelInfo, Prediction, Summary
from .text import has_visible_text, normalize, read_article

NOT_VIETNAMESE_WARNING = (
    "This text does not look like Vietnamese (with diacritics); NewsLens was trained on "
    "Vietnamese news, so treat these results with caution."
)
TEXT_CUT_WARNING = ("The text was {n:,} characters long; only its first {limit:,} were analysed "
                    "(NEWSLENS_MAX_TEXT_CHARS).")
TITLE_CUT_WARNING = ("The title was {n:,} characters long; only its first {limit:,} were analysed "
                     "(NEWSLENS_MAX_TITLE_CHARS).")
# Letters that only Vietnamese uses (French é, è, à, ê, ô, â and Spanish á, í, ó, ú are left
# out on purpose), so a French or Spanish paragraph is not mistaken for Vietnamese.
# One match per word that holds such a letter: from its first one to the end of the word.
# (Not ``\S*[...]\S*``: its leading ``\S*`` backtracks, quadratic in a long word without one.)
_VI_WORD_RE = re.compile(r"[ăđơưảạẻẽẹỉĩịỏõọủũụỳỷỹỵằắẳẵặầấẩẫậềếểễệồốổỗộờớởỡợừứửữự]\S*")


def looks_vietnamese(text: str) -> bool:
    """True when enough syllables carry Vietnamese letters or tone marks.

    Vietnamese news has such a letter in about half of its syllables; English or French
    text has almost none. Short snippets get the benefit of the doubt.
    """
    sample = text[:20000].lower()
    n_words = len(sample.split())
    if n_words < 8:
        return True
    # Vietnamese news: median 0.55, 99.9% above 0.16; French or English: near 0.
    return len(_VI_WORD_RE.findall(sample)) / n_words >= 0.1


def _load_baseline(folder, config, runtime):
    return BaselineModel.load(folder, config)  # one runtime: numpy and scipy


def _load_transformer(folder, config, runtime):
    # Imported on demand: it brings the tokenizers library, and torch or onnxruntime.
    try:
        from .transformer import TransformerModel
    except ImportError as e:
        raise bundle.BundleError(
            f"{folder}: a transformer bundle needs the tokenizers library ({e}); install "
            "`pip install 'newslens[serve]'` (ONNX Runtime) or `pip install 'newslens[transformer]'` (torch)."
        ) from None
    try:
        return TransformerModel.load(folder, config, runtime)
    except ImportError as e:
        raise bundle.BundleError(f"{folder}: a library this bundle needs is missing ({e}); install "
                                 "`pip install 'newslens[serve]'` or `pip install 'newslens[transformer]'`.") from None


def _loaders():
    # kind -> loader(folder, config, runtime)
    return {BASELINE_KIND: _load_baseline, "transformer": _load_transformer}


def check_text(text: object, what: str = "text") -> str:
    """``text`` if it is a str with something to read; invisible text counts as empty."""
    if not isinstance(text, str):
        raise TypeError(f"{what} must be a str, got {type(text).__name__}")
    if not has_visible_text(text):
        raise ValueError(f"{what} is empty: pass the article text (its body, optionally with the headline).")
    return text


class Predictor:
    """A loaded bundle that answers ``predict(text)`` and ``predict_batch(texts)``."""

    def __init__(self, model: NewsModel, info: ModelInfo):
        self.model = model
        self.info = info

    @classmethod
    def load(cls, path: str | os.PathLike | None = None, runtime: str | None = None) -> "Predictor":
        """Load a bundle folder; with no path, the default bundle (see ``model.paths``).

        ``runtime`` picks the network of a transformer bundle: "auto" (the default, or
        $NEWSLENS_RUNTIME), "onnx", "onnx-int8", "onnx-fp32" or "torch"; baselines ignore it.
        """
        folder = Path(path) if path is not None else paths.default_model_dir()
        config = bundle.read_config(folder)
        kind = config.get("kind")
        loader = _loaders().get(kind)
        if loader is None:
            raise bundle.BundleError(f"{folder}: unknown model kind {kind!r} (known: {', '.join(_loaders())}).")
        model = loader(folder, config, runtime)
        info = ModelInfo(
            name=config.get("name", folder.name),
            kind=kind,
            # the registry's number when registered ("v0003"), else the training timestamp
            version=str(config.get("registry", {}).get("version") or config.get("version", folder.name)),
            path=str(folder.resolve()),
            runtime=getattr(model, "runtime", "numpy"),
        )
        return cls(model, info)

    @property
    def metrics(self) -> dict:
        """Evaluation results per file, as training recorded them (the card's numbers)."""
        return self.meta.get("metrics", {})

    def predict(self, text: str, title: str = "") -> Prediction:
        return self.predict_batch([text], [title])[0]

    @property
    def labels(self) -> Labels:
        """Which types and topics this model can give."""
        return self.model.labels

    @property
    def meta(self) -> dict:
        """What training recorded in the bundle: ``metrics``, ``data``, ``training``."""
        return self.model.meta

    def explain(self, text: str, title: str = "", label: str | None = None, top: int = 10) -> Explanation:
        """The terms that pushed the type decision (for ``label``, default: the predicted one)."""
        check_text(f"{title}\n{text}" if isinstance(text, str) and isinstance(title, str) else text)
        known = self.labels.types
        if label is not None and label not in known:
            raise ValueError(f"unknown type label {label!r}; this model knows: {', '.join(known) or 'none'}.")
        chosen = label or self.predict(text, title).type.label
        text, title, _ = _cut(text, title or "")
        terms = self.model.explain_type(text, title, chosen, top) if chosen else []
        return Explanation(chosen, [(t, round(w, 6)) for t, w in terms])

    def predict_batch(self, texts: Sequence[str], titles: Sequence[str] | None = None) -> list[Prediction]:
        if isinstance(texts, str):
            raise TypeError("predict_batch takes a list of texts; use predict(text) for one article.")
        if len(texts) == 0:
            return []
        if len(texts) > limits.MAX_BATCH_ARTICLES:
            raise ValueError(f"predict_batch got {len(texts):,} texts; the limit is {limits.MAX_BATCH_ARTICLES:,} "
                             "per call (NEWSLENS_MAX_BATCH_ARTICLES): pass them in smaller batches.")
        titles = [t or "" for t in titles] if titles is not None else [""] * len(texts)
        if len(titles) != len(texts):
            raise ValueError(f"got {len(texts)} texts but {len(titles)} titles; pass one title per text or none.")
        for i, (text, title) in enumerate(zip(texts, titles)):
            what = f"texts[{i}]" if len(texts) > 1 else "text"
            if not isinstance(title, str):
                raise TypeError(f"title of {what} must be a str, got {type(title).__name__}")
            if not has_visible_text(title):  # a headline alone is enough to analyse
                check_text(text, what)
            elif not isinstance(text, str):
                raise TypeError(f"{what} must be a str, got {type(text).__name__}")
        start = time.perf_counter()
        cut = [_cut(text, title) for text, title in zip(texts, titles)]
        articles = [read_article(text, title) for text, title, _ in cut]
        analyses = self.model.analyse([a.body for a in articles], [a.title for a in articles])
        elapsed = (time.perf_counter() - start) * 1000 / max(len(texts), 1)
        out = []
        for (text, _, notes), a, offset in zip(cut, analyses, (a.offset for a in articles)):
            summary = a.summary if not offset else Summary(a.summary.text, [i + offset for i in a.summary.sentences])
            warnings = notes + ([] if looks_vietnamese(normalize(text)) else [NOT_VIETNAMESE_WARNING])
            out.append(Prediction(a.type, a.topics, a.keywords, summary, self.info, round(elapsed, 3), warnings))
        return out


_SURROGATE = re.compile("[\ud800-\udfff]")


def _cut(text: str, title: str) -> tuple[str, str, list[str]]:
    """``text`` and ``title`` within their limits, with a warning for each one that was cut.

    A lone surrogate (JSON can carry "\\ud800") becomes U+FFFD: no answer quoting it could be
    encoded as UTF-8."""
    text, title = _SURROGATE.sub("\ufffd", text), _SURROGATE.sub("\ufffd", title)
    notes = []
    if len(text) > limits.MAX_TEXT_CHARS:
        notes.append(TEXT_CUT_WARNING.format(n=len(text), limit=limits.MAX_TEXT_CHARS))
        text = text[: limits.MAX_TEXT_CHARS]
    if len(title) > limits.MAX_TITLE_CHARS:
        notes.append(TITLE_CUT_WARNING.format(n=len(title), limit=limits.MAX_TITLE_CHARS))
        title = title[: limits.MAX_TITLE_CHARS]
    return text, title, notes


class LivePredictor:
    """The default model, followed: reloads when the registry's ``current`` pointer moves.

    ``get()`` checks the pointer at most every ``check_every_s`` seconds. A new model is
    loaded completely before it replaces the old one, and requests that already hold the
    old ``Predictor`` finish with it, so a promotion never fails a request.
    """

    def __init__(self, check_every_s: float = 2.0):
        self.check_every_s = check_every_s
        self._lock = threading.Lock()
        self._predictor = Predictor.load(paths.default_model_dir())
        self._checked = time.monotonic()

    def get(self) -> Predictor:
        if time.monotonic() - self._checked >= self.check_every_s:
            self.refresh()
        return self._predictor

    def refresh(self) -> bool:
        """Load the default model if it changed; True when it did."""
        with self._lock:
            self._checked = time.monotonic()
            try:
                path = str(paths.default_model_dir().resolve())
            except bundle.BundleError:
                return False  # keep serving what we have
            if path == self._predictor.info.path:
                return False
            try:
                fresh = Predictor.load(path)
            except bundle.BundleError:
                return False  # a damaged new model never replaces a working one
            self._predictor = fresh
            return True

    def predict(self, text: str, title: str = "") -> Prediction:
        return self.get().predict(text, title)

    def predict_batch(self, texts: Sequence[str], titles: Sequence[str] | None = None) -> list[Prediction]:
        return self.get().predict_batch(texts, titles)


_default: Predictor | None = None
_default_lock = threading.Lock()


def default_predictor() -> Predictor:
    """The default bundle, loaded once per process (thread-safe)."""
    global _default
    with _default_lock:
        if _default is None or _default.info.path != str(paths.default_model_dir().resolve()):
            _default = Predictor.load()
        return _default


def predict(text: str, title: str = "") -> Prediction:
    """Analyse one article with the default model: type, topics, keywords and summary."""
    return default_predictor().predict(text, title)
