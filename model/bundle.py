"""Bundle I/O: a saved model is a folder with a JSON config, weights and a model card.

Layout (names are constants so every reader agrees)::

    config.json     format version, kind, labels, thresholds, versions, data, metrics, files
    *.npz / *.json  weights and vocabularies; loading them executes no code
    README.md       the model card
    *.png           a retrained candidate's report plots (training/report.py)

``config.json`` lists every other file in the folder with its sha256 (the card and any
plots included, ``"files_complete": true``), so a truncated, edited or added file is caught
on load with a message that names it, instead of a numpy error later. Bundles are written
into a temporary sibling folder and renamed into place when complete, so a crash never
leaves a half-written bundle under the final name. ``config.json`` itself is the seal, not
covered by a checksum: a hand edit to it is caught by the loaders' consistency checks
(labels against weights, known kinds and parameters), not by a digest.

Checksums are taken in one place, ``seal``. The only writes allowed after it are those inside
``amend`` (the registry's block in ``config.json``, a retraining report beside the card),
on a bundle that is not yet published (still in a staging folder): ``amend`` checks the
seal first, so damage is never blessed, and seals the folder again afterwards.

Bundles written before ``files_complete`` listed neither ``README.md`` nor report plots;
they still load: their listed files are checked, other files in the folder are not.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import zipfile
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np

CONFIG_NAME = "config.json"
CARD_NAME = "README.md"
FORMAT_VERSION = 1
FORMAT_NAME = "newslens-bundle"
# What training recorded beside the weights, kept on a loaded model as ``meta`` (the rest of
# the config describes the weights): scores, data fingerprints, the training config, timings.
META_KEYS = ("metrics", "data", "created", "versions", "training", "train_config")


class BundleError(ValueError):
    """A bundle folder is missing, damaged or of a format this version cannot read."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class BundleWriter:
    """Collects files in a temporary folder; ``commit`` moves it to its final place."""

    def __init__(self, target: str | os.PathLike):
        self.target = Path(target)
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.target.name}.tmp-", dir=self.target.parent))
        self.files: list[str] = []

    def add_arrays(self, name: str, arrays: dict[str, np.ndarray]) -> None:
        np.savez(self.tmp / name, **arrays)
        self.files.append(name)

    def add_json(self, name: str, obj: Any) -> None:
        (self.tmp / name).write_text(json.dumps(obj, ensure_ascii=False), encoding="utf-8")
        self.files.append(name)

    def add_file(self, name: str, source: str | os.PathLike) -> None:
        (self.tmp / name).parent.mkdir(parents=True, exist_ok=True)  # "baseline/weights.npz"
        shutil.copyfile(source, self.tmp / name)
        self.files.append(name)

    def commit(self, config: dict[str, Any], card: str) -> Path:
        config = dict(config)
        config["format"] = FORMAT_NAME
        config["format_version"] = FORMAT_VERSION
        (self.tmp / CARD_NAME).write_text(card, encoding="utf-8")
        seal(self.tmp, config)
        if self.target.exists():
            # Replace an existing bundle by swapping names, never deleting it first.
            old = self.target.with_name(f".{self.target.name}.old-{os.getpid()}")
            os.replace(self.target, old)
            os.replace(self.tmp, self.target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(self.tmp, self.target)
        return self.target

    def abort(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def update(folder: str | os.PathLike, files: dict[str, Path] | None = None,
           config: dict[str, Any] | None = None, card: str | None = None) -> Path:
    """A sealed bundle with ``files`` (bundle name -> source) added or replaced, ``config``
    merged into its config and, if given, a new ``card``; the other files are kept as they are.

    The bundle is checked first, then rebuilt beside itself (unchanged files hard-linked where
    the file system allows), sealed, and swapped into place like ``BundleWriter.commit``:
    a crash leaves the old bundle or the new one, never a mix.
    """
    folder = Path(folder)
    files = files or {}
    current = read_config(folder, verify=True)
    writer = BundleWriter(folder)
    try:
        for name in _bundle_files(folder):
            if name in files or name == CARD_NAME:
                continue
            (writer.tmp / name).parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(folder / name, writer.tmp / name)
            except OSError:
                shutil.copyfile(folder / name, writer.tmp / name)
        for name, source in files.items():
            if not _inside(name):
                raise ValueError(f"{name!r} is not a path inside a bundle")
            writer.add_file(name, source)
        if card is None:
            card = (folder / CARD_NAME).read_text(encoding="utf-8") if (folder / CARD_NAME).is_file() else ""
        return writer.commit({**current, **(config or {})}, card)
    except BaseException:
        writer.abort()
        raise


def read_config(path: str | os.PathLike, verify: bool = True) -> dict[str, Any]:
    """Read and check ``config.json`` of a bundle folder (and the checksums of its files).

    Any damage, whatever its shape, is a ``BundleError`` that names the file.
    """
    folder = Path(path)
    config_path = folder / CONFIG_NAME
    if not folder.is_dir():
        raise BundleError(f"{folder}: no such model folder. Train one with `newslens train`.")
    if not config_path.is_file():
        raise BundleError(f"{folder}: not a NewsLens model (no {CONFIG_NAME}).")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError, OSError) as e:  # JSONDecodeError is a ValueError
        raise BundleError(f"{config_path}: damaged config ({type(e).__name__}: {e}). "
                          "Retrain or restore the bundle.") from None
    if not isinstance(config, dict):
        raise BundleError(f"{config_path}: not a NewsLens bundle config (a JSON {type(config).__name__}, "
                          "not an object).")
    if config.get("format") != FORMAT_NAME:
        raise BundleError(f"{config_path}: not a NewsLens bundle config (format={config.get('format')!r}).")
    version = config.get("format_version")
    if version != FORMAT_VERSION:
        raise BundleError(
            f"{config_path}: bundle format version {version!r}, but this NewsLens reads version "
            f"{FORMAT_VERSION}. Upgrade NewsLens or retrain the model."
        )
    files = config.get("files", {})
    if not isinstance(files, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        raise BundleError(f"{config_path}: damaged config: \"files\" must map file names to sha256 checksums, "
                          f"got {type(files).__name__}. Retrain or restore the bundle.")
    outside = sorted(name for name in files if not _inside(name))
    if outside:
        raise BundleError(f"{config_path}: damaged config: \"files\" names {', '.join(map(repr, outside[:3]))}, "
                          "outside the bundle folder.")
    if verify:
        for name, digest in files.items():
            file = folder / name
            if not file.is_file():
                raise BundleError(f"{folder}: damaged bundle, {name} is missing.")
            if _sha256(file) != digest:
                raise BundleError(f"{folder}: damaged bundle, {name} does not match its checksum in {CONFIG_NAME}.")
        if config.get("files_complete"):  # older bundles listed only the weights: extra files not checked
            unlisted = sorted(set(_bundle_files(folder)) - set(files))
            if unlisted:
                raise BundleError(f"{folder}: damaged bundle, {', '.join(unlisted)} not listed in {CONFIG_NAME} "
                                  "(added after the bundle was sealed).")
    return config


def _inside(name: str) -> bool:
    """A relative path that stays inside the bundle folder ("baseline/weights.npz")."""
    parts = Path(name).parts
    return bool(name) and not Path(name).is_absolute() and ".." not in parts and not name.startswith(("/", "\\"))


def _bundle_files(folder: Path) -> list[str]:
    """Every file in a bundle folder but its config, as relative POSIX paths ("baseline/weights.npz")."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                  if p.is_file() and p.relative_to(folder).as_posix() != CONFIG_NAME)


def seal(folder: str | os.PathLike, config: dict[str, Any]) -> dict[str, Any]:
    """Write ``config`` as the folder's ``config.json``, listing the sha256 of every other file in it.

    The one place checksums are taken: ``BundleWriter.commit`` and ``amend`` both end here.
    The config is replaced atomically. Returns the config as written.
    """
    folder = Path(folder)
    config = {k: v for k, v in config.items() if k not in ("files", "files_complete")}
    config["files"] = {name: _sha256(folder / name) for name in _bundle_files(folder)}
    config["files_complete"] = True
    tmp = folder / f"{CONFIG_NAME}.tmp"  # written after the listing was taken
    tmp.write_text(json.dumps(config, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(tmp, folder / CONFIG_NAME)
    return config


@contextmanager
def amend(folder: str | os.PathLike) -> Iterator[dict[str, Any]]:
    """A permitted write into a sealed bundle that is not yet published (still in staging).

    Checks the seal, yields the config to change in place (files may be added to or
    rewritten in ``folder`` meanwhile), then seals the folder again. If the block raises,
    nothing is sealed: the added files stay unlisted and the bundle fails verification,
    so a half-written report is never taken for a complete bundle::

        with bundle.amend(staged) as config:
            config["registry"] = info
    """
    config = read_config(folder, verify=True)
    yield config
    config.update(seal(folder, config))


def load_arrays(folder: str | os.PathLike, name: str) -> dict[str, np.ndarray]:
    """The arrays of ``name`` (an ``.npz``); a damaged file is a ``BundleError`` naming it."""
    path = Path(folder) / name
    try:
        # allow_pickle=False: a model file can never run code when it is loaded.
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError, KeyError, RuntimeError, zipfile.BadZipFile, zlib.error) as e:
        raise BundleError(f"{path}: damaged bundle file, cannot read its arrays ({type(e).__name__}: {e}). "
                          "Retrain or restore the bundle.") from None


def load_json(folder: str | os.PathLike, name: str) -> Any:
    """The JSON in ``name``; a damaged file is a ``BundleError`` naming it."""
    path = Path(folder) / name
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError, RecursionError) as e:
        raise BundleError(f"{path}: damaged bundle file, cannot read its JSON ({type(e).__name__}: {e}). "
                          "Retrain or restore the bundle.") from None
