"""Installed size of NewsLens's extras, from what this environment has installed.

    python bench/extras_size.py

For each extra: the distributions it adds beyond the base install (its requirements and
theirs, minus everything the base already brings), and the bytes their installed files take
(each distribution's RECORD). Prints a table and writes bench/results/extras_size.json.
"""
from __future__ import annotations

import importlib.metadata as md
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS, write_report  # noqa: E402

EXTRAS = ("serve", "transformer")


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[(]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def requirements(dist: str, extra: str | None = None) -> list[str]:
    """Names ``dist`` requires (with ``extra``: only that extra's own), skipping unmet markers."""
    out = []
    for req in md.requires(dist) or []:
        name, _, marker = req.partition(";")
        marker = marker.strip()
        wants_extra = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", marker)
        keep = not wants_extra if extra is None else bool(wants_extra) and wants_extra.group(1) == extra
        if keep:
            if "platform_system" in marker or "sys_platform" in marker or "python_version" in marker:
                try:
                    from packaging.markers import Marker

                    if not Marker(marker.replace(wants_extra.group(0), "True") if wants_extra else marker).evaluate():
                        continue
                except Exception:  # noqa: BLE001 - an unparsable marker: count the package
                    pass
            out.append(_name(name))
    return out


def closure(names: list[str]) -> set[str]:
    seen, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        try:
            md.distribution(name)
        except md.PackageNotFoundError:
            continue
        seen.add(name)
        todo += requirements(name)
    return seen


def size_mb(name: str) -> float:
    dist = md.distribution(name)
    total = 0
    for f in dist.files or []:
        path = Path(dist.locate_file(f))
        if path.is_file():
            total += path.stat().st_size
    return total / 2**20


def main() -> int:
    base = closure(requirements("newslens"))
    report = {"base_mb": round(sum(size_mb(n) for n in base), 1), "base_packages": len(base), "extras": {}}
    for extra in EXTRAS:
        added = closure(requirements("newslens", extra)) - base
        sizes = {n: round(size_mb(n), 1) for n in sorted(added)}
        report["extras"][extra] = {"mb": round(sum(sizes.values()), 1), "packages": sizes}
    print(f"base install: {report['base_mb']:.0f} MB in {report['base_packages']} distributions")
    for extra, info in report["extras"].items():
        top = sorted(info["packages"].items(), key=lambda kv: -kv[1])[:4]
        print(f"[{extra}] adds {info['mb']:.0f} MB: " + ", ".join(f"{n} {mb:.0f}" for n, mb in top))
    write_report(report, RESULTS / "extras_size.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
