"""ONNX copies of the transformer: export, parity with torch (fp32 and int8), runtime choice,
answering without torch, and ``newslens export-onnx``.

Uses the tiny transformer of ``test_transformer`` (hidden 32, 2 layers, trained for 4 steps on
the synthetic corpus): no network, no real weights, a few seconds.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from conftest import ENGLISH_TEXT, SPORTS_TEXT
from test_transformer import LONG_BODY, tiny_dir, tiny_e5, trained  # noqa: F401 (fixtures)

from model.bundle import CONFIG_NAME, BundleError, read_config
from model.onnx_export import FP32_FILE, INT8_FILE, export_bundle
from model.predictor import Predictor
from model.text import split_sentences
from model.transformer import TransformerModel, choose_runtime
from training.cli import main

ROOT = Path(__file__).resolve().parent.parent
ARTICLES = [  # (title, body): one and several windows, no sentence at all, another language
    ("Bóng đá", LONG_BODY),
    ("", SPORTS_TEXT),
    ("Bóng đá", LONG_BODY * 3),
    ("Chỉ một tiêu đề", ""),
    ("", ENGLISH_TEXT),
]


def outputs(model: TransformerModel) -> list[dict]:
    texts, titles = [b for _, b in ARTICLES], [t for t, _ in ARTICLES]
    return model.encode(texts, titles, [split_sentences(b) for b in texts])


@pytest.fixture(scope="module")
def runtimes(trained):  # noqa: F811 (a fixture)
    _, _, path = trained
    return {r: TransformerModel.load(path, runtime=r) for r in ("torch", "onnx-fp32", "onnx-int8")}


def test_training_writes_onnx_copies_listed_with_checksums(trained):  # noqa: F811
    _, _, path = trained
    config = read_config(path)  # verifies every checksum
    assert config["onnx"]["files"] == {"onnx-fp32": FP32_FILE, "onnx-int8": INT8_FILE}
    assert config["onnx"]["default"] == "onnx-int8"
    assert {FP32_FILE, INT8_FILE} <= set(config["files"])


@pytest.mark.parametrize("runtime, atol", [("onnx-fp32", 1e-4), ("onnx-int8", 0.08)])
def test_onnx_matches_torch(runtimes, runtime, atol):
    torch_out, onnx_out = outputs(runtimes["torch"]), outputs(runtimes[runtime])
    assert runtimes[runtime].runtime == runtime
    for t, o in zip(torch_out, onnx_out):
        np.testing.assert_allclose(o["type"], t["type"], atol=atol)
        np.testing.assert_allclose(o["topics"], t["topics"], atol=atol)
        np.testing.assert_allclose(o["doc"], t["doc"], atol=10 * atol)
        assert o["sentences"].shape == t["sentences"].shape
        np.testing.assert_allclose(o["sentences"], t["sentences"], atol=10 * atol)
        assert o["covered"].tolist() == t["covered"].tolist()
    if runtime == "onnx-fp32":  # the same network: the same answers, to the last label
        assert [a.type.label for a in runtimes["torch"].analyse([SPORTS_TEXT, LONG_BODY])] == \
               [a.type.label for a in runtimes[runtime].analyse([SPORTS_TEXT, LONG_BODY])]


def test_dynamic_axes_batch_equals_one_at_a_time(runtimes):
    """Windows, tokens, articles and sentences vary per call: a batch answers like single calls."""
    model = runtimes["onnx-int8"]
    together = outputs(model)
    for (title, body), whole in zip(ARTICLES, together):
        alone = model.encode([body], [title], [split_sentences(body)])[0]
        np.testing.assert_allclose(alone["type"], whole["type"], atol=1e-3)
        np.testing.assert_allclose(alone["sentences"], whole["sentences"], atol=1e-2)


def test_runtime_is_reported_in_every_answer(trained):  # noqa: F811
    _, _, path = trained
    for runtime, expected in (("torch", "torch-fp32"), ("onnx-fp32", "onnx-fp32"), ("onnx", "onnx-int8"), (None, "onnx-int8")):
        pred = Predictor.load(path, runtime=runtime).predict(SPORTS_TEXT)
        assert pred.model.runtime == expected and pred.to_dict()["model"]["runtime"] == expected


def test_runtime_from_the_environment_and_bad_names(trained, monkeypatch):  # noqa: F811
    _, _, path = trained
    monkeypatch.setenv("NEWSLENS_RUNTIME", "torch")
    assert Predictor.load(path).info.runtime == "torch-fp32"
    monkeypatch.setenv("NEWSLENS_RUNTIME", "onnx-fp16")
    with pytest.raises(ValueError, match="unknown runtime 'onnx-fp16'.*NEWSLENS_RUNTIME"):
        Predictor.load(path)


def test_bundle_without_onnx_answers_with_torch_and_says_how_to_add_it(trained, tmp_path):  # noqa: F811
    saved = TransformerModel.load(trained[2], runtime="torch")
    saved.onnx = "none"
    path = saved.save(tmp_path / "no-onnx", card="# no onnx")
    config = read_config(path)
    assert "onnx" not in config and FP32_FILE not in config["files"]
    assert choose_runtime(path, config) == "torch-fp32"  # auto: nothing else to take
    with pytest.raises(BundleError, match="no onnx-int8 copy.*newslens export-onnx"):
        Predictor.load(path, runtime="onnx-int8")


def test_export_onnx_cli_adds_the_copies_to_a_bundle(trained, tmp_path, capsys):  # noqa: F811
    saved = TransformerModel.load(trained[2], runtime="torch")
    saved.onnx = "none"
    path = saved.save(tmp_path / "later", card="# exported later")
    before = read_config(path)
    assert main(["-q", "export-onnx", str(path), "--default", "fp32"]) == 0
    block = json.loads(capsys.readouterr().out)
    after = read_config(path)  # checksums of the old and new files verified
    assert block == after["onnx"] and after["onnx"]["default"] == "onnx-fp32"
    assert {FP32_FILE, INT8_FILE} <= set(after["files"])
    assert {k: v for k, v in after["files"].items() if k in before["files"]} == before["files"]  # nothing else changed
    assert (path / "README.md").read_text("utf-8") == "# exported later"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left
    assert Predictor.load(path).info.runtime == "onnx-fp32"


def test_export_onnx_refuses_what_it_cannot_export(bundle_dir, tmp_path, capsys):
    assert main(["-q", "export-onnx", str(bundle_dir)]) == 2  # a baseline: no network
    assert "only transformer bundles" in capsys.readouterr().err
    assert main(["-q", "export-onnx", str(tmp_path / "nowhere")]) == 2
    assert "no such model folder" in capsys.readouterr().err


def test_damaged_onnx_file_is_a_bundle_error(trained, tmp_path):  # noqa: F811
    copy = Path(shutil.copytree(trained[2], tmp_path / "copy"))
    data = bytearray((copy / INT8_FILE).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / INT8_FILE).write_bytes(bytes(data))
    with pytest.raises(BundleError, match="model.int8.onnx does not match its checksum"):
        Predictor.load(copy)
    # A config whose labels disagree with the graph (checksums fine): named, not an ORT traceback.
    copy2 = Path(shutil.copytree(trained[2], tmp_path / "copy2"))
    config = json.loads((copy2 / CONFIG_NAME).read_text("utf-8"))
    config["type_labels"] = config["type_labels"][:-1]
    (copy2 / CONFIG_NAME).write_text(json.dumps(config), "utf-8")
    with pytest.raises(BundleError, match="damaged or inconsistent bundle"):
        Predictor.load(copy2, runtime="onnx-int8")


NO_TORCH = """
import importlib.abc, sys

class NotInstalled(importlib.abc.MetaPathFinder):  # as if torch & co. were not installed
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "transformers", "safetensors"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NotInstalled())
from model.predictor import Predictor
p = Predictor.load(sys.argv[1])
pred = p.predict(sys.argv[2])
assert not [m for m in sys.modules if m.split(".")[0] in ("torch", "transformers", "safetensors") and sys.modules[m]]
print(pred.model.runtime, pred.type.label, len(pred.summary.sentences))
"""


def test_a_transformer_bundle_answers_without_torch(trained):  # noqa: F811
    _, _, path = trained
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("NEWSLENS_RUNTIME", None)
    done = subprocess.run([sys.executable, "-c", NO_TORCH, str(path), SPORTS_TEXT], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    runtime, label, n = done.stdout.split()[0], " ".join(done.stdout.split()[1:-1]), int(done.stdout.split()[-1])
    assert runtime == "onnx-int8" and label in trained[0].type_labels and n >= 1
    # Asked for torch where there is none: a clear error that says what to install.
    done = subprocess.run([sys.executable, "-c", NO_TORCH.replace("Predictor.load(sys.argv[1])",
                          "Predictor.load(sys.argv[1], runtime='torch')"), str(path), SPORTS_TEXT],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert done.returncode != 0 and "newslens[transformer]" in done.stderr and "Traceback" in done.stderr
    assert "BundleError" in done.stderr


def test_export_bundle_leaves_the_bundle_as_it_was_when_it_fails(trained, tmp_path, monkeypatch):  # noqa: F811
    copy = Path(shutil.copytree(trained[2], tmp_path / "copy"))
    before = (copy / CONFIG_NAME).read_text("utf-8")

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("model.onnx_export.quantize_int8", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        export_bundle(copy)
    assert (copy / CONFIG_NAME).read_text("utf-8") == before
    read_config(copy)  # still whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy"]
