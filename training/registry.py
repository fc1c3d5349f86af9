"""The model registry under $NEWSLENS_HOME: numbered versions and an atomic ``current`` pointer.

Layout::

    models/
      CURRENT              the serving version's name, replaced atomically (os.replace)
      v0001/ v0002/ ...    complete, sealed bundles; config.json has a "registry" block
                           (written with ``bundle.amend`` before the folder is renamed in)
      holdout/             the fixed holdout: holdout.jsonl.gz + manifest.json (never trained on)
      .staging-*           candidates being built; never read, removed when stale

A version folder appears only by renaming a complete bundle into place, and the pointer
changes only by an atomic file replace, so a crash (even ``kill -9``) at any moment leaves
the registry valid: every version folder is complete and ``CURRENT`` names one of them.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from model import bundle
from model.paths import CURRENT_FILE, models_home

VERSION_RE = re.compile(r"^v(\d{4,})$")
HOLDOUT_DIR = "holdout"
STAGING_PREFIX = ".staging-"


class RegistryError(ValueError):
    pass


@dataclass(frozen=True)
class Version:
    name: str
    path: Path
    config: dict[str, Any]

    @property
    def info(self) -> dict[str, Any]:
        return self.config.get("registry", {})


class Registry:
    def __init__(self, home: str | os.PathLike | None = None):
        self.home = Path(home) if home is not None else models_home()

    # --- reading ---------------------------------------------------------------------
    def versions(self) -> list[Version]:
        if not self.home.is_dir():
            return []
        out = []
        for p in sorted(self.home.iterdir()):
            if VERSION_RE.match(p.name) and (p / bundle.CONFIG_NAME).is_file():
                try:
                    out.append(Version(p.name, p, bundle.read_config(p, verify=False)))
                except bundle.BundleError:
                    continue  # unreadable: listed by `check`, never served
        return out

    def get(self, name: str) -> Version:
        name = self.normalise_name(name)
        for v in self.versions():
            if v.name == name:
                return v
        known = ", ".join(v.name for v in self.versions()) or "none"
        raise RegistryError(f"no model version {name!r} in {self.home} (versions: {known}).")

    @staticmethod
    def normalise_name(name: str) -> str:
        """Accept "3", "v3" or "v0003"."""
        m = re.fullmatch(r"v?(\d+)", str(name).strip())
        return f"v{int(m.group(1)):04d}" if m else str(name)

    def current_name(self) -> str | None:
        try:
            name = (self.home / CURRENT_FILE).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return name or None

    def current(self) -> Version | None:
        name = self.current_name()
        return self.get(name) if name else None

    # --- writing ---------------------------------------------------------------------
    def staging_dir(self) -> Path:
        """A fresh folder to build a candidate in (removed or renamed by the caller)."""
        self.home.mkdir(parents=True, exist_ok=True)
        self.clean_stale()
        path = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=self.home))
        (path / ".pid").write_text(str(os.getpid()))  # so a later run knows whether it is abandoned
        return path

    def clean_stale(self, older_than_s: float = 0.0) -> None:
        """Remove staging folders whose process is gone (left by a crash)."""
        if not self.home.is_dir():
            return
        for p in self.home.iterdir():
            if p.name.startswith(".CURRENT.") and p.is_file():
                pid = p.name.rsplit(".", 1)[-1]
                if not (pid.isdigit() and _alive(int(pid))):
                    p.unlink(missing_ok=True)  # a pointer update cut short; CURRENT itself is intact
            elif p.name.startswith((STAGING_PREFIX, ".holdout-")) and p.is_dir():
                pid = _pid_of(p)
                if pid is not None and _alive(pid):
                    continue
                # no .pid yet: maybe another process has just created it; leave young ones alone
                if time.time() - p.stat().st_mtime >= (older_than_s if pid is not None else max(older_than_s, 60.0)):
                    shutil.rmtree(p, ignore_errors=True)

    def add(self, staged_bundle: Path, info: dict[str, Any]) -> Version:
        """Move a complete bundle into the registry as the next version (atomic rename).

        The registry block is written into the staged bundle's config.json through
        ``bundle.amend``, which refuses a damaged bundle and seals it again, so the
        published version verifies like any other bundle.
        """
        while True:
            # Number by folder names, readable or not: a damaged folder still owns its name.
            names = [p.name for p in self.home.iterdir()] if self.home.is_dir() else []
            numbers = [int(m.group(1)) for m in map(VERSION_RE.match, names) if m]
            name = f"v{(max(numbers) + 1 if numbers else 1):04d}"
            target = self.home / name
            info = {**info, "version": name, "registered": _now()}
            with bundle.amend(staged_bundle) as config:  # complete and intact, or raise
                config["registry"] = info
            try:
                os.rename(staged_bundle, target)  # fails if another process took the name
            except OSError:
                if target.exists():
                    continue
                raise
            return Version(name, target, config)

    def set_current(self, name: str, reason: str) -> None:
        version = self.get(name)
        bundle.read_config(version.path)  # never point at a damaged bundle
        tmp = self.home / f".CURRENT.{os.getpid()}"
        tmp.write_text(version.name + "\n", encoding="utf-8")
        os.replace(tmp, self.home / CURRENT_FILE)  # atomic: readers see old or new, never half
        self._log({"event": "current", "version": version.name, "reason": reason})

    def _log(self, entry: dict[str, Any]) -> None:
        path = self.home / "history.jsonl"
        line = json.dumps({"time": _now(), **entry}, ensure_ascii=False) + "\n"
        with open(path, "a+b") as f:
            f.seek(0, os.SEEK_END)
            if f.tell() > 0:
                f.seek(-1, os.SEEK_END)
                if f.read(1) != b"\n":  # a line cut by a crash: start ours on a fresh line
                    line = "\n" + line
            f.write(line.encode("utf-8"))

    def history(self) -> list[dict[str, Any]]:
        path = self.home / "history.jsonl"
        if not path.is_file():
            return []
        out = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut by a crash
        return out

    def rollback(self) -> Version:
        """Point ``current`` back at the version that was current before it."""
        current = self.current_name()
        previous = [e["version"] for e in self.history() if e.get("event") == "current"]
        for name in reversed(previous):
            if name != current and (self.home / name).is_dir():
                self.set_current(name, f"rollback from {current}")
                return self.get(name)
        raise RegistryError(f"nothing to roll back to: {current or 'no version'} is the only version that has been current.")

    def check(self) -> list[str]:
        """Problems that would make the registry unsafe to serve from (empty = valid)."""
        problems = []
        for p in self.home.iterdir() if self.home.is_dir() else []:
            if VERSION_RE.match(p.name):
                try:
                    bundle.read_config(p)
                except bundle.BundleError as e:
                    problems.append(str(e))
        name = self.current_name()
        if name is not None:
            try:
                bundle.read_config(self.home / name)
            except bundle.BundleError as e:
                problems.append(f"CURRENT points at {name}: {e}")
        return problems


def _pid_of(path: Path) -> int | None:
    marker = path / ".pid"
    try:
        return int(marker.read_text().strip())
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# --- the fixed holdout ------------------------------------------------------------------
# Per task: this fraction of the labelled records, at most this many. Small enough to cost
# the models little data, large enough to see a real drop (1,000 types: +-1.5 points).
HOLDOUT_SHARE = {"type": (0.03, 1000), "topics": (0.08, 120), "summary": (0.02, 300), "tags": (0.05, 200)}


def record_key(record) -> str:
    """Identity of an article by its content (ids differ between files and corpora)."""
    import hashlib

    return hashlib.sha1(f"{record.title}\n{record.text}".encode("utf-8")).hexdigest()


def split_holdout(records: list, seed: int = 0) -> tuple[list, list]:
    """Deterministic split: (records to train on, holdout records), ``HOLDOUT_SHARE`` per task,
    ranked by a hash of ``seed`` and each record's content (``splits.hashed_holdout``)."""
    from .splits import hashed_holdout

    return hashed_holdout(records, record_key, HOLDOUT_SHARE, seed)


def write_holdout(registry: Registry, holdout: list, sources: list[dict[str, Any]]) -> Path:
    """Write the holdout once (atomically); it is fixed for the life of the registry."""
    import gzip

    folder = registry.home / HOLDOUT_DIR
    if (folder / "manifest.json").is_file():
        return folder
    tmp = Path(tempfile.mkdtemp(prefix=".holdout-", dir=registry.home))
    with gzip.open(tmp / "holdout.jsonl.gz", "wt", encoding="utf-8") as f:
        for r in holdout:
            f.write(json.dumps(r.to_json_dict(), ensure_ascii=False) + "\n")
    counts = {task: sum(getattr(r, task) is not None for r in holdout) for task in HOLDOUT_SHARE}
    (tmp / "manifest.json").write_text(json.dumps({"created": _now(), "records": len(holdout), "labelled": counts,
                                                   "carved_from": sources}, ensure_ascii=False, indent=2))
    try:
        os.rename(tmp, folder)
    except OSError:  # another process wrote it first: keep theirs
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def holdout_file(registry: Registry) -> Path | None:
    path = registry.home / HOLDOUT_DIR / "holdout.jsonl.gz"
    return path if path.is_file() else None


# --- slices of new data that retrains held out ------------------------------------------------
WATCH_DIR = "holdout-new"


def watched_slices(registry: Registry) -> list:
    """The held-out slices of the new data of earlier promoted retrains: part of the registry's
    holdout from then on, so later retrains keep being judged on what those taught."""
    from .data import read_records

    folder = registry.home / WATCH_DIR
    if not folder.is_dir():
        return []
    return [r for path in sorted(folder.glob("v*.jsonl.gz")) for r in read_records(path)]


def add_watched_slice(registry: Registry, version: str, records: list) -> Path | None:
    """Write ``version``'s held-out new records (atomically: a temporary file, then a rename)."""
    import gzip

    if not records:
        return None
    folder = registry.home / WATCH_DIR
    folder.mkdir(exist_ok=True)
    target = folder / f"{version}.jsonl.gz"
    fd, tmp = tempfile.mkstemp(prefix=".slice-", dir=folder)
    os.close(fd)
    try:
        with gzip.open(tmp, "wt", encoding="utf-8") as f:
            for r in records:
                f.write(json.dumps(r.to_json_dict(), ensure_ascii=False) + "\n")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target
