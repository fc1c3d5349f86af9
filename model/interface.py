"""The one model interface: what every model kind gives the rest of NewsLens.

``Predictor``, the app, evaluation and the registry talk to a model only through
``NewsModel``. A kind's heads, features and encoders stay inside its own module, so a new
kind (or a changed head) cannot crash a caller that never knew about it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from .results import Keyword, Summary, TopicsPrediction, TypePrediction


@dataclass(frozen=True)
class Labels:
    """Which types and topics a model can give (empty: the model has no such head)."""

    types: list[str]
    topics: list[str]


@dataclass
class Analysis:
    """Per-article output of a model, before the Predictor wraps it with identity and timing."""

    type: TypePrediction
    topics: TopicsPrediction
    keywords: list[Keyword]
    summary: Summary


@runtime_checkable
class NewsModel(Protocol):
    """What ``Predictor.load`` returns inside a ``Predictor``, for every kind.

    ``meta`` holds what training recorded: ``metrics`` (per evaluation file, what the card and
    the app's Model tab show), ``data`` (training files and fingerprints), ``training``.
    """

    meta: dict[str, Any]

    @property
    def labels(self) -> Labels: ...

    def analyse(self, texts: list[str], titles: list[str] | None = None) -> list[Analysis]:
        """Answer a batch; ``titles[i]`` is the headline of ``texts[i]`` ("" when none)."""
        ...

    def explain_type(self, text: str, title: str = "", label: str | None = None,
                     top: int = 10) -> list[tuple[str, float]]:
        """The terms that pushed the type towards ``label`` (default: the chosen one), largest first."""
        ...

    def save(self, path: str | os.PathLike, card: str, extra_config: dict[str, Any] | None = None) -> Path: ...
