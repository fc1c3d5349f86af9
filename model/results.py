"""Typed, JSON-serialisable results returned by every model."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class TypePrediction:
    """The article type: the chosen label and a probability for every label."""

    label: str
    scores: dict[str, float]


@dataclass(frozen=True)
class TopicsPrediction:
    """Key topics: the chosen set and a probability for every topic label."""

    labels: list[str]
    scores: dict[str, float]


@dataclass(frozen=True)
class Keyword:
    """A phrase as the article writes it, and how likely an editor is to tag it (0 to 1)."""

    phrase: str
    score: float


@dataclass(frozen=True)
class Summary:
    """A draft summary and the indices of the article sentences it is made of.

    Indices refer to ``model.text.split_sentences(model.text.normalize(article))``.
    """

    text: str
    sentences: list[int]


@dataclass(frozen=True)
class Explanation:
    """Why the type was chosen: the terms of the article that pushed it most.

    For the TF-IDF baseline a term's weight is its tf-idf value times the classifier
    weight for the label (its exact share of the label's score).
    """

    label: str
    terms: list[tuple[str, float]]


@dataclass(frozen=True)
class ModelInfo:
    """Which bundle answered: enough to reproduce or report a prediction."""

    name: str
    kind: str
    version: str
    path: str
    # What computed the answer: "numpy" (baseline), "torch-fp32", "onnx-fp32" or "onnx-int8".
    runtime: str = ""


@dataclass(frozen=True)
class Prediction:
    type: TypePrediction
    topics: TopicsPrediction
    keywords: list[Keyword]
    summary: Summary
    model: ModelInfo
    elapsed_ms: float
    # Notes for the reader, e.g. that the text does not look Vietnamese.
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, **kwargs)
