"""The layers show in the imports: model/ answers, training/ makes and judges, serve/ presents.

- model/ never imports training/ or serve/ (a saved model loads without training code);
- serve/ imports only public names of model/ and training/;
- the CLI's ``serve`` command (training/cli.py) is the one place that joins training and serving.
Read from the source with ``ast``, so imports inside functions count too.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("model", "training", "serve")


def imports(path: Path) -> list[tuple[str, list[str], int]]:
    """(absolute module, imported names, line) of every import in a file of a package."""
    package = path.relative_to(ROOT).parts[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out += [(a.name, [], node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:  # relative: inside the file's own package (one level deep here)
                module = f"{package}.{module}" if module else package
            out.append((module, [a.name for a in node.names], node.lineno))
    return out


def files(package: str) -> list[Path]:
    found = sorted((ROOT / package).rglob("*.py"))
    assert found, f"no Python files under {package}/"  # never pass vacuously
    return found


def top(module: str) -> str:
    return module.split(".")[0]


@pytest.mark.parametrize("path", files("model"), ids=lambda p: p.name)
def test_model_never_imports_training_or_serve(path):
    bad = [(m, line) for m, _, line in imports(path) if top(m) in ("training", "serve")]
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}: model/ must load and answer without training or serving code"


@pytest.mark.parametrize("path", files("serve"), ids=lambda p: p.name)
def test_serve_uses_only_public_names(path):
    bad = []
    for module, names, line in imports(path):
        if top(module) in ("model", "training"):
            private = [n for n in names if n.startswith("_")] + [p for p in module.split(".") if p.startswith("_")]
            bad += [(module, n, line) for n in private]
    assert not bad, f"{path.relative_to(ROOT)} imports private names {bad}"


def test_only_the_cli_joins_training_and_serving():
    joins = [(str(p.relative_to(ROOT)), m, line) for p in files("training") for m, _, line in imports(p) if top(m) == "serve"]
    assert joins and all(p == "training/cli.py" for p, _, _ in joins), joins


def test_serve_never_reaches_into_a_model():
    """The app talks to ``Predictor`` and its ``NewsModel`` interface, never to a kind's heads."""
    for path in files("serve"):
        text = path.read_text(encoding="utf-8")
        for attr in (".model.type_head", ".model.topics_head", ".model.meta", ".model.baseline"):
            assert attr not in text, f"{path.relative_to(ROOT)} uses {attr}"
