"""TF-IDF features over syllable n-grams, storable without pickle.

Training fits a scikit-learn ``TfidfVectorizer``; a bundle keeps only its vocabulary
(JSON) and idf weights (npz), and inference rebuilds an identical vectorizer from them.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from itertools import islice

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from .text import normalize

TOKEN_PATTERN = r"(?u)\b\w+\b"  # every syllable, one-letter ones included ("ô tô")


def analysis_text(text: str, title: str = "") -> str:
    """The single view of an article that every TF-IDF model reads."""
    text = normalize(text)
    return (normalize(title) + "\n" + text if title else text).lower()


LEAD_CHARS = 400
WORD_CACHE = 50_000  # words whose character n-gram ids are kept: about 10 MB at most
_WHITE_SPACES = re.compile(r"\s\s+")  # as scikit-learn folds white space before character n-grams


def lead_text(analysed: str) -> str:
    """Headline and lead of an ``analysis_text``: what DANeS topic labels were given for."""
    return analysed[:LEAD_CHARS]


@dataclass(frozen=True)
class TfidfParams:
    ngram_max: int = 2
    min_df: int = 2
    max_df: float = 0.5
    max_features: int | None = 600_000
    analyzer: str = "word"  # or "char_wb": character n-grams inside words
    ngram_min: int = 1


def make_vectorizer(params: TfidfParams, vocabulary: dict[str, int] | None = None) -> TfidfVectorizer:
    return TfidfVectorizer(
        analyzer=params.analyzer,
        ngram_range=(params.ngram_min, params.ngram_max),
        sublinear_tf=True,
        min_df=params.min_df,
        max_df=params.max_df,
        max_features=params.max_features,
        token_pattern=TOKEN_PATTERN if params.analyzer == "word" else None,
        lowercase=False,  # analysis_text already lower-cased and normalised
        dtype=np.float32,
        vocabulary=vocabulary,
    )


def most_common_first(terms: list[str], idf: np.ndarray) -> dict[str, int]:
    """The vocabulary ``{term: index}`` of terms in feature order, built with the terms of
    most documents first.

    Built in feature order (alphabetical), the few thousand terms that most articles
    contain would be spread over the whole ~100 MB of the dictionary, and nearly every
    lookup (about a thousand per article, in the TF-IDF transform and in keyword
    extraction) would miss the CPU caches. Built from new strings in order of document
    frequency, those terms share a few MB. Same mapping, same features.
    """
    if len(idf) != len(terms):  # a damaged bundle: left for the shape checks to report
        return {t: i for i, t in enumerate(terms)}
    order = np.argsort(idf, kind="stable").tolist()  # lowest idf: the terms of most documents
    ordered = [terms[i] for i in order]
    fresh = "\n".join(ordered).split("\n")  # new str objects, allocated one after another
    if len(fresh) != len(ordered):  # a term holds a line break: keep the strings we have
        fresh = ordered
    return dict(zip(fresh, order))


def plain_analyzer(vectorizer: TfidfVectorizer) -> str | None:
    """"word" or "char_wb" when the fast counting here reproduces ``vectorizer``'s analyzer
    exactly (no preprocessing, the default tokenizer), else None."""
    v = vectorizer
    plain = (v.preprocessor is None and v.tokenizer is None and v.stop_words is None and not v.lowercase
             and v.strip_accents is None and v.input == "content" and not v.binary)
    return v.analyzer if plain and v.analyzer in ("word", "char_wb") else None


def ngram_ids(tokens: list[str], lookup, ngram_min: int, ngram_max: int) -> list[list]:
    """``lookup`` of each n-gram of ``tokens`` (a vocabulary's ``get``: None when not in it),
    one list per n, n-gram j of each list starting at syllable j; n-grams joined as
    scikit-learn joins them. ``map`` runs the loop in C: scikit-learn's is a Python
    statement per n-gram."""
    out = []
    for n in range(ngram_min, ngram_max + 1):
        grams = tokens if n == 1 else map(" ".join, zip(*(islice(tokens, k, None) for k in range(n))))
        out.append(list(map(lookup, grams)))
    return out


def count_matrix(rows: list[list], n_columns: int, dtype) -> sp.csr_matrix:
    """The count matrix ``CountVectorizer`` makes: row i counts the column ids in ``rows[i]``
    (None: a term outside the vocabulary, not counted), indices sorted."""
    indices: list[int] = []
    counts: list[int] = []
    indptr = [0]
    for row in rows:
        c = Counter(row)
        c.pop(None, None)
        indices.extend(c)
        counts.extend(c.values())
        indptr.append(len(indices))
    index_type = np.int64 if max(indptr[-1], n_columns) > np.iinfo(np.int32).max else np.int32
    X = sp.csr_matrix((np.asarray(counts, dtype=dtype), np.asarray(indices, dtype=index_type),
                       np.asarray(indptr, dtype=index_type)), shape=(len(rows), n_columns))
    X.sort_indices()
    return X


class TfidfFeatures:
    """A fitted TF-IDF transform: ``transform(texts) -> csr_matrix``."""

    def __init__(self, vectorizer: TfidfVectorizer, params: TfidfParams):
        self.vectorizer = vectorizer
        self.params = params
        self.vocabulary: dict[str, int] = vectorizer.vocabulary_
        self.idf: np.ndarray = vectorizer.idf_.astype(np.float32)
        self.terms: list[str] | None = None  # built lazily, only explanations need it
        self._idf_get = None
        self._word_ids: dict[str, tuple[int, ...]] = {}  # character n-gram ids of each word seen (char_wb)

    @classmethod
    def fit_transform(cls, texts: list[str], params: TfidfParams,
                      vectorizer: TfidfVectorizer | None = None) -> tuple["TfidfFeatures", sp.csr_matrix]:
        """Fit on ``texts``; ``vectorizer``: an unfitted one made with ``make_vectorizer``'s
        settings, to fit instead (training passes one that counts on every core)."""
        vectorizer = vectorizer if vectorizer is not None else make_vectorizer(params)
        X = vectorizer.fit_transform(texts)
        vectorizer.stop_words_ = None  # can be huge and is never needed after fitting
        return cls(vectorizer, params), X

    @classmethod
    def from_arrays(cls, terms: list[str], idf: np.ndarray, params: TfidfParams) -> "TfidfFeatures":
        """The transform a bundle stores: its terms in feature order and their idf."""
        vectorizer = make_vectorizer(params, vocabulary=most_common_first(terms, idf))
        vectorizer.fit(["x"])  # sets up the fixed vocabulary; idf is replaced next
        vectorizer.idf_ = idf.astype(np.float32)
        return cls(vectorizer, params)

    def transform(self, texts: list[str]) -> sp.csr_matrix:
        """The TF-IDF rows of ``texts``: ``TfidfVectorizer.transform``'s matrix, bit for bit.

        scikit-learn counts n-grams in a Python loop, one statement per n-gram; here they are
        made and looked up by C-level ``map`` calls, about twice as fast (tests/test_features.py
        checks the equality, generated texts included). Other analyzers go to scikit-learn.
        """
        if isinstance(texts, str):
            raise TypeError("transform takes a list of texts, not one str")
        if len(texts) == 0:  # scikit-learn refuses an empty batch; an empty matrix is the answer
            return sp.csr_matrix((0, len(self.vocabulary)), dtype=self.vectorizer.dtype)
        kind = plain_analyzer(self.vectorizer)
        if kind == "word":
            tokenize = self.vectorizer.build_tokenizer()
            return self._weigh([[i for grams in self._ngram_ids(tokenize(t)) for i in grams] for t in texts])
        if kind == "char_wb":
            return self._weigh([self._char_wb_ids(t) for t in texts])
        return self.vectorizer.transform(texts)

    def transform_with_parts(self, texts: list[str], parts: list[list[str]]) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """``(transform(texts), transform(all parts, text after text))``, reading each term once.

        ``parts[i]`` are pieces of ``texts[i]`` in reading order (its headline, its sentences).
        A piece whose syllables are the next run of the text's syllables takes its n-grams
        from the text's, so an article is looked up in the ~600k-term vocabulary once instead
        of twice (the lookups are most of the transform's time). Any other piece is counted
        on its own. Either way every row is what ``transform`` gives for it: the same counts
        go through scikit-learn's own tf-idf weighting and normalisation.
        """
        if len(parts) != len(texts):
            raise ValueError(f"{len(texts)} texts but parts for {len(parts)}")
        if plain_analyzer(self.vectorizer) != "word" or not texts:
            flat = [p for pieces in parts for p in pieces]
            return self.transform(texts), self.transform(flat)
        tokenize = self.vectorizer.build_tokenizer()
        doc_rows: list[list[int]] = []
        part_rows: list[list[int]] = []
        for text, pieces in zip(texts, parts):
            tokens = tokenize(text)
            ids = self._ngram_ids(tokens)
            doc_rows.append([i for grams in ids for i in grams])
            at = 0  # where the next piece should start among the text's syllables
            for piece in pieces:
                piece_tokens = tokenize(piece)
                n = len(piece_tokens)
                if tokens[at : at + n] == piece_tokens:
                    # n-grams that start inside the piece and end inside it
                    part_rows.append([i for k, grams in enumerate(ids, self.params.ngram_min)
                                      for i in grams[at : max(at, at + n - k + 1)]])
                    at += n
                else:
                    part_rows.append([i for grams in self._ngram_ids(piece_tokens) for i in grams])
        return self._weigh(doc_rows), self._weigh(part_rows)

    def _char_wb_ids(self, text: str) -> list[int]:
        """Vocabulary ids of scikit-learn's ``_char_wb_ngrams`` of ``text``: the character
        n-grams of each space-padded word (a word no longer than n gives itself once, and no
        longer n-grams). A language has a few thousand distinct syllables, so each word's ids
        are kept (up to ``WORD_CACHE`` words) and an article costs one lookup a word."""
        cache = self._word_ids
        out: list[int] = []
        for word in _WHITE_SPACES.sub(" ", text).split():
            ids = cache.get(word)
            if ids is None:
                if len(cache) >= WORD_CACHE:
                    cache.clear()
                ids = cache[word] = tuple(i for i in map(self.vocabulary.get, self._char_wb_word(word)) if i is not None)
            out += ids
        return out

    def _char_wb_word(self, word: str) -> list[str]:
        w = f" {word} "
        grams = []
        for n in range(self.params.ngram_min, self.params.ngram_max + 1):
            if len(w) <= n:
                grams.append(w)
                break
            grams += [w[i : i + n] for i in range(len(w) - n + 1)]
        return grams

    def _ngram_ids(self, tokens: list[str]) -> list[list[int | None]]:
        return ngram_ids(tokens, self.vocabulary.get, self.params.ngram_min, self.params.ngram_max)

    def _weigh(self, rows: list[list[int | None]]) -> sp.csr_matrix:
        """Count each row's ids into the matrix ``CountVectorizer`` makes, then tf-idf it."""
        X = count_matrix(rows, len(self.vocabulary), self.vectorizer.dtype)
        return self.vectorizer._tfidf.transform(X, copy=False)

    def idf_of(self, term: str) -> float | None:
        """idf of a term, or None when it is not in the vocabulary."""
        return self.idf_lookup()(term)

    def idf_lookup(self):
        """A fast ``term -> idf | None`` function (the hot path of keyword extraction)."""
        if self._idf_get is None:
            self._idf_get = dict(zip(self.vocabulary, self.idf[list(self.vocabulary.values())].tolist())).get
        return self._idf_get

    def term_list(self) -> list[str]:
        """Terms in feature order (how a bundle stores the vocabulary)."""
        if self.terms is None:
            terms = [""] * len(self.vocabulary)
            for t, i in self.vocabulary.items():
                terms[int(i)] = t
            self.terms = terms
        return self.terms

    def term(self, index: int) -> str:
        return self.term_list()[index]
