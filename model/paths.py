"""Where models and data live by default (all overridable by environment variables)."""
from __future__ import annotations

import os
from pathlib import Path

from .bundle import CONFIG_NAME, BundleError

REPO_ROOT = Path(__file__).resolve().parent.parent
CURRENT_FILE = "CURRENT"  # in $NEWSLENS_HOME: the name of the serving registry version


def models_home() -> Path:
    """``$NEWSLENS_HOME``, default ``./models`` (relative to the working directory)."""
    return Path(os.environ.get("NEWSLENS_HOME") or "models")


def data_dir() -> Path:
    """``$NEWSLENS_DATA``, default ``../shared/data`` beside the repository."""
    env = os.environ.get("NEWSLENS_DATA")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"


def bundles_in(home: Path) -> list[Path]:
    """Complete bundles directly under ``home``, oldest first (by the time they were made)."""
    if not home.is_dir():
        return []
    found = [p for p in home.iterdir() if not p.name.startswith(".") and (p / CONFIG_NAME).is_file()]
    return sorted(found, key=lambda p: ((p / CONFIG_NAME).stat().st_mtime, p.name))


def default_model_dir() -> Path:
    """The bundle that answers when none is named.

    ``$NEWSLENS_MODEL`` if set; else the registry's current version (``$NEWSLENS_HOME/CURRENT``);
    else the newest bundle under ``$NEWSLENS_HOME``.
    """
    env = os.environ.get("NEWSLENS_MODEL")
    if env:
        return Path(env)
    home = models_home()
    try:
        name = (home / CURRENT_FILE).read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        name = ""
    if name:
        return home / name
    found = bundles_in(home)
    if not found:
        raise BundleError(
            f"No trained model found under {home.resolve()}. Train one with `newslens train` "
            "(or set NEWSLENS_MODEL to a bundle folder, or NEWSLENS_HOME to where your models are)."
        )
    return found[-1]
