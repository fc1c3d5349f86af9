"""model/bundle.py and BaselineModel.save/load: a bundle is a checked folder without pickle."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from conftest import BUSINESS, SPORTS, SPORTS_TEXT, VOCAB, make_records, small_params
from model.baseline import WEIGHTS_FILE, BaselineModel, CorpusContext
from model.bundle import CARD_NAME, CONFIG_NAME, FORMAT_VERSION, BundleError, BundleWriter, amend, read_config, seal
from model.predictor import Predictor
from training.baseline import fit_baseline

def edit_config(folder: Path, change: dict) -> None:
    path = folder / CONFIG_NAME
    config = json.loads(path.read_text("utf-8"))
    config.update(change)
    path.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")


TEXTS = [SPORTS_TEXT, " ".join(VOCAB[BUSINESS][:3]), "Bác sĩ khám bệnh.\nẢnh: minh họa"]


def test_round_trip_gives_identical_predictions(baseline_model, predictor):
    before = baseline_model.analyse(TEXTS, ["", "Giá vàng", ""])
    after = predictor.model.analyse(TEXTS, ["", "Giá vàng", ""])
    assert after == before


def test_saving_a_loaded_model_again_gives_the_same_bundle(predictor, bundle_dir, tmp_path):
    again = predictor.model.save(tmp_path / "again", card="# card")
    assert Predictor.load(again).model.analyse(TEXTS) == predictor.model.analyse(TEXTS)
    assert json.loads((again / "vocabulary.json").read_text("utf-8")) == json.loads(
        (bundle_dir / "vocabulary.json").read_text("utf-8")
    )


def test_config_describes_the_bundle(bundle_dir):
    config = read_config(bundle_dir)
    assert config["format_version"] == FORMAT_VERSION
    assert config["kind"] == "baseline"
    assert config["type_labels"] == sorted(VOCAB)
    assert set(config["topic_labels"]) == {"Bóng đá", "Kinh tế", "Chứng khoán", "Y tế"}
    assert len(config["topic_thresholds"]) == len(config["topic_labels"])
    # every file but the config itself is listed with its checksum, the card included
    listed = set(config["files"])
    assert listed == {p.name for p in bundle_dir.iterdir()} - {CONFIG_NAME}
    assert CARD_NAME in listed and config["files_complete"] is True
    assert (bundle_dir / CARD_NAME).read_text("utf-8") == "# card"


def test_bundle_holds_no_pickle(bundle_dir):
    assert not [p for p in bundle_dir.rglob("*") if p.suffix in (".pkl", ".pickle", ".joblib", ".pt", ".bin")]
    for npz in bundle_dir.glob("*.npz"):
        with np.load(npz, allow_pickle=False) as data:
            for key in data.files:
                assert data[key].dtype != object  # reading an object array would need pickle
    for name in read_config(bundle_dir)["files"]:
        if name.endswith(".json"):
            json.loads((bundle_dir / name).read_text("utf-8"))


def test_tampered_weights_are_caught(bundle_copy):
    weights = bundle_copy / WEIGHTS_FILE
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(BundleError, match=rf"{WEIGHTS_FILE} does not match its checksum"):
        Predictor.load(bundle_copy)


def test_tampered_card_is_caught(bundle_copy):
    card = bundle_copy / CARD_NAME
    card.write_text(card.read_text("utf-8") + "\nEdited by hand.\n", encoding="utf-8")
    with pytest.raises(BundleError, match=rf"{CARD_NAME} does not match its checksum"):
        Predictor.load(bundle_copy)


@pytest.mark.parametrize("name", ["notes.png", "extra/file.json", ".hidden"])
def test_a_file_added_after_sealing_is_caught(bundle_copy, name):
    (bundle_copy / name).parent.mkdir(exist_ok=True)
    (bundle_copy / name).write_bytes(b"not part of the bundle")
    with pytest.raises(BundleError, match=rf"{name} not listed in {CONFIG_NAME}"):
        Predictor.load(bundle_copy)
    read_config(bundle_copy, verify=False)  # still readable for listing it


def test_missing_file_is_caught(bundle_copy):
    (bundle_copy / "vocabulary.json").unlink()
    with pytest.raises(BundleError, match="vocabulary.json is missing"):
        Predictor.load(bundle_copy)


@pytest.mark.parametrize("version", [FORMAT_VERSION + 1, 0, None, "1"])
def test_unknown_format_version(bundle_copy, version):
    edit_config(bundle_copy, {"format_version": version})
    with pytest.raises(BundleError, match=rf"format version {version!r}.*Upgrade NewsLens or retrain"):
        Predictor.load(bundle_copy)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"kind": "mystery"}, "unknown model kind 'mystery'"),
        ({"format": "other"}, "not a NewsLens bundle config"),
        ({"n_docs": None}, "damaged or inconsistent bundle"),
        ({"tfidf": {"no_such_param": 1}}, "damaged or inconsistent bundle"),
    ],
)
def test_inconsistent_config(bundle_copy, change, message):
    edit_config(bundle_copy, change)
    with pytest.raises(BundleError, match=message):
        Predictor.load(bundle_copy)


@pytest.mark.parametrize(
    "change",
    [{"type_labels": ["only one"]}, {"topic_thresholds": [0.5]}],
    ids=["type-labels", "topic-thresholds"],
)
def test_labels_not_matching_the_weights_are_caught_on_load(bundle_copy, change):
    edit_config(bundle_copy, change)
    with pytest.raises(BundleError, match="damaged or inconsistent bundle"):
        Predictor.load(bundle_copy).predict(SPORTS_TEXT)


def test_damaged_config_json(bundle_copy):
    (bundle_copy / CONFIG_NAME).write_text("{not json", encoding="utf-8")
    with pytest.raises(BundleError, match="damaged config"):
        Predictor.load(bundle_copy)


def test_missing_folder_hints_at_training(tmp_path):
    with pytest.raises(BundleError, match="no such model folder.*`newslens train`"):
        Predictor.load(tmp_path / "nowhere")


def test_folder_without_config(tmp_path):
    with pytest.raises(BundleError, match=f"not a NewsLens model \\(no {CONFIG_NAME}\\)"):
        read_config(tmp_path)


def test_bundle_error_is_a_value_error():
    assert issubclass(BundleError, ValueError)


# --- BundleWriter ---------------------------------------------------------------------------------------
def test_writer_commits_atomically_and_replaces(tmp_path):
    target = tmp_path / "b"
    for value in (1, 2):
        writer = BundleWriter(target)
        assert not target.exists() or read_config(target)["value"] == value - 1
        writer.add_json("data.json", {"x": value})
        writer.add_arrays("arrays.npz", {"a": np.arange(3)})
        writer.commit({"kind": "test", "value": value}, card="# test")
    assert read_config(target)["value"] == 2
    assert json.loads((target / "data.json").read_text("utf-8")) == {"x": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["b"]  # no temporary or old folders left


def test_writer_seals_files_in_subfolders(tmp_path):
    source = tmp_path / "src.json"
    source.write_text("[1]", encoding="utf-8")
    writer = BundleWriter(tmp_path / "b")
    writer.add_file("part/config.json", source)  # a nested bundle's config is an ordinary file here
    target = writer.commit({"kind": "test"}, card="# test")
    assert set(read_config(target)["files"]) == {"part/config.json", CARD_NAME}
    (target / "part" / "config.json").write_text("[2]", encoding="utf-8")
    with pytest.raises(BundleError, match="part/config.json does not match"):
        read_config(target)


# --- amend: the one permitted write after sealing ---------------------------------------------------
def test_amend_reseals_changed_and_added_files(bundle_copy):
    with amend(bundle_copy) as config:
        config["registry"] = {"version": "v0001"}
        (bundle_copy / CARD_NAME).write_text("# card\n\n## Retraining\n", encoding="utf-8")
        (bundle_copy / "plot.png").write_bytes(b"\x89PNG fake")
    after = read_config(bundle_copy)  # verifies
    assert after["registry"] == {"version": "v0001"} and config == after
    assert {CARD_NAME, "plot.png"} <= set(after["files"])
    assert not list(bundle_copy.glob("*.tmp"))
    Predictor.load(bundle_copy)
    (bundle_copy / "plot.png").write_bytes(b"\x89PNG other")
    with pytest.raises(BundleError, match="plot.png does not match"):
        read_config(bundle_copy)


def test_amend_refuses_a_damaged_bundle_instead_of_blessing_it(bundle_copy):
    (bundle_copy / "vocabulary.json").write_text("[]", encoding="utf-8")
    with pytest.raises(BundleError, match="vocabulary.json does not match"):
        with amend(bundle_copy) as config:
            config["registry"] = {}
    with pytest.raises(BundleError, match="vocabulary.json does not match"):
        read_config(bundle_copy)


def test_amend_cut_short_leaves_a_bundle_that_fails_verification(bundle_copy):
    with pytest.raises(RuntimeError):
        with amend(bundle_copy):
            (bundle_copy / "half.png").write_bytes(b"\x89PNG")
            raise RuntimeError("crash while plotting")
    with pytest.raises(BundleError, match="half.png not listed"):
        read_config(bundle_copy)


def test_bundles_sealed_before_files_complete_still_load(bundle_copy):
    """Older bundles listed only the weights: their card, plots and patched registry block were not
    covered. They load (listed files still checked); sealing one again covers everything."""
    path = bundle_copy / CONFIG_NAME
    config = json.loads(path.read_text("utf-8"))
    del config["files_complete"], config["files"][CARD_NAME]
    config["registry"] = {"version": "v0001", "status": "promoted"}
    path.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    (bundle_copy / CARD_NAME).write_text("# card\n\n## Retraining\n", encoding="utf-8")
    (bundle_copy / "training_curve.png").write_bytes(b"\x89PNG")
    assert read_config(bundle_copy)["registry"]["status"] == "promoted"
    assert Predictor.load(bundle_copy).predict(SPORTS_TEXT).type.label == SPORTS
    weights = bundle_copy / WEIGHTS_FILE
    weights.write_bytes(weights.read_bytes()[:-10])
    with pytest.raises(BundleError, match=rf"{WEIGHTS_FILE} does not match"):
        read_config(bundle_copy)


def test_seal_lists_every_file_but_the_config(tmp_path):
    (tmp_path / "a.json").write_text("1", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.npz").write_bytes(b"x")
    config = seal(tmp_path, {"format": "newslens-bundle", "format_version": FORMAT_VERSION,
                             "files": {"stale.json": "0" * 64}})
    assert set(config["files"]) == {"a.json", "sub/b.npz"}
    assert read_config(tmp_path) == config
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", CONFIG_NAME, "sub"]


def test_writer_abort_leaves_nothing(tmp_path):
    writer = BundleWriter(tmp_path / "b")
    writer.add_json("data.json", [1])
    writer.abort()
    assert list(tmp_path.iterdir()) == []


def test_failed_save_keeps_the_previous_bundle(bundle_copy, baseline_model, monkeypatch):
    before = read_config(bundle_copy)

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(BundleWriter, "commit", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        baseline_model.save(bundle_copy, card="# new")
    assert read_config(bundle_copy) == before
    assert [p.name for p in bundle_copy.parent.iterdir()] == [bundle_copy.name]


def test_model_without_topics_saves_and_loads(tmp_path):
    records = [r for r in make_records() if r.type is not None]
    model = fit_baseline(records, small_params(), progress=False)
    path = model.save(tmp_path / "type-only", card="# card")
    config = read_config(path)
    assert config["topic_labels"] is None
    result = Predictor.load(path).predict(SPORTS_TEXT)
    assert result.type.label == SPORTS
    assert result.topics.labels == [] and result.topics.scores == {}
    assert isinstance(BaselineModel.load(path), BaselineModel)


def test_topics_head_carries_a_corpus_context_that_round_trips(baseline_model, predictor, bundle_dir):
    context = baseline_model.topics_head.context
    assert context is not None and context.lsa is not None and context.lead_type is not None
    loaded = predictor.model.topics_head.context
    np.testing.assert_array_equal(loaded.columns, context.columns)
    np.testing.assert_array_equal(loaded.lsa, context.lsa)  # stored as float16, fitted already rounded
    assert loaded.lead_type.labels == context.lead_type.labels
    config = read_config(bundle_dir)
    assert config["topic_lsa_weight"] == context.lsa_weight and config["topic_lead_type_weight"] == context.lead_type_weight


@pytest.mark.parametrize(
    "off, lsa, lead_type",
    [
        ({"topics_common_terms": 0}, False, False),
        ({"topics_lsa_dims": 0}, False, True),
        ({"topics_lead_type_weight": 0.0}, True, False),
    ],
    ids=["no-context", "no-lsa", "no-lead-type"],
)
def test_corpus_context_parts_can_be_turned_off(tmp_path, off, lsa, lead_type):
    model = fit_baseline(make_records(), replace(small_params(), **off), progress=False)
    context = model.topics_head.context
    assert (context is not None and context.lsa is not None) == lsa
    assert (context is not None and context.lead_type is not None) == lead_type
    before = model.analyse(TEXTS)
    after = BaselineModel.load(model.save(tmp_path / "b", card="# card")).analyse(TEXTS)
    assert after == before and after[0].topics.labels == ["Bóng đá"]


def test_corpus_context_not_matching_its_weights_is_caught(bundle_copy):
    edit_config(bundle_copy, {"topic_lead_type_labels": ["only one"]})
    with pytest.raises(BundleError, match="damaged or inconsistent bundle.*lead type weights"):
        Predictor.load(bundle_copy)


def test_corpus_context_selects_common_terms_like_scipy(baseline_model):
    import scipy.sparse as sp

    X = baseline_model.features.transform(["", TEXTS[0].lower(), "", TEXTS[1].lower()])
    assert X[0].nnz == 0  # empty rows, first and inside
    # A subset of the vocabulary, not ending at its last term (the tiny model's context keeps all).
    context = CorpusContext(np.arange(1, X.shape[1] - 1, 2), None, 0.0, None, 0.0)
    expected = X[:, context.columns].toarray()
    assert expected.any()
    np.testing.assert_array_equal(context.common_terms(X).toarray(), expected)
    empty = sp.csr_matrix((2, X.shape[1]), dtype=X.dtype)
    assert context.common_terms(empty).shape == (2, context.columns.size)


def test_a_loaded_vocabulary_is_the_saved_mapping_most_common_terms_first(predictor, bundle_dir, baseline_model):
    from model.features import most_common_first

    saved = json.loads((bundle_dir / "vocabulary.json").read_text("utf-8"))
    loaded = predictor.model.features.vocabulary
    assert loaded == {t: i for i, t in enumerate(saved)}  # the same mapping...
    idf = predictor.model.features.idf
    assert [idf[i] for i in loaded.values()] == sorted(idf.tolist())  # ...laid out by document frequency
    assert predictor.model.features.idf_of(saved[0]) == pytest.approx(float(idf[0]))
    # A term with a line break keeps its strings (only reordered); an idf that does not fit
    # (a damaged bundle) leaves the vocabulary for the shape checks.
    assert most_common_first(["a\nb", "c"], np.array([2.0, 1.0])) == {"c": 1, "a\nb": 0}
    assert list(most_common_first(["a\nb", "c"], np.array([2.0, 1.0]))) == ["c", "a\nb"]
    assert most_common_first(["a", "b"], np.array([1.0])) == {"a": 0, "b": 1}


# --- damaged bundles of any shape: a BundleError that names the file, never another exception ----------
def _write_config(folder: Path, obj) -> None:
    (folder / CONFIG_NAME).write_text(obj if isinstance(obj, str) else json.dumps(obj), encoding="utf-8")


@pytest.mark.parametrize(
    "config, message",
    [
        ([], "a JSON list, not an object"),
        ("null", "a JSON NoneType, not an object"),
        ('"text"', "a JSON str, not an object"),
        ("[" * 100_000, "damaged config"),
        ('{"a": ' + "1" * 5000 + "}", "damaged config"),
        (b"\xff\xfe{}", "damaged config"),
    ],
    ids=["list", "null", "string", "deep-nesting", "huge-integer", "not-utf8"],
)
def test_config_of_the_wrong_shape_names_the_config(bundle_copy, config, message):
    if isinstance(config, bytes):
        (bundle_copy / CONFIG_NAME).write_bytes(config)
    else:
        _write_config(bundle_copy, config)
    with pytest.raises(BundleError, match=message) as info:
        Predictor.load(bundle_copy)
    assert str(bundle_copy / CONFIG_NAME) in str(info.value)


@pytest.mark.parametrize(
    "files, message",
    [
        ([], '"files" must map file names to sha256 checksums, got list'),
        ("weights.npz", '"files" must map file names to sha256 checksums, got str'),
        ({"weights.npz": 1}, '"files" must map file names to sha256 checksums'),
        ({"../outside.json": "0" * 64}, "outside the bundle folder"),
        ({"/etc/passwd": "0" * 64}, "outside the bundle folder"),
    ],
    ids=["list", "string", "digest-not-string", "parent-folder", "absolute"],
)
def test_files_of_the_wrong_shape_name_the_config(bundle_copy, files, message):
    edit_config(bundle_copy, {"files": files})
    for verify in (True, False):
        with pytest.raises(BundleError, match=message) as info:
            read_config(bundle_copy, verify=verify)
        assert str(bundle_copy / CONFIG_NAME) in str(info.value)
    with pytest.raises(BundleError, match=message):
        Predictor.load(bundle_copy)


def _unlist(folder: Path, name: str) -> None:
    """Remove ``name``'s checksum entry, as someone covering up a damaged file would."""
    config = json.loads((folder / CONFIG_NAME).read_text("utf-8"))
    del config["files"][name]
    config["files_complete"] = False
    (folder / CONFIG_NAME).write_text(json.dumps(config), encoding="utf-8")


@pytest.mark.parametrize("keep", [0, 100, 0.5, 0.99], ids=["empty", "100-bytes", "half", "most"])
def test_truncated_weights_without_checksum_name_the_file(bundle_copy, keep):
    weights = bundle_copy / WEIGHTS_FILE
    data = weights.read_bytes()
    weights.write_bytes(data[: int(len(data) * keep) if isinstance(keep, float) else keep])
    _unlist(bundle_copy, WEIGHTS_FILE)
    with pytest.raises(BundleError, match=rf"{WEIGHTS_FILE}: damaged bundle file") as info:
        Predictor.load(bundle_copy)
    assert str(bundle_copy / WEIGHTS_FILE) in str(info.value)


def test_weights_of_another_format_without_checksum_name_the_file(bundle_copy):
    np.savez(bundle_copy / WEIGHTS_FILE, idf=np.array([object()], dtype=object))  # needs pickle to load
    _unlist(bundle_copy, WEIGHTS_FILE)
    with pytest.raises(BundleError, match=rf"{WEIGHTS_FILE}"):
        Predictor.load(bundle_copy)


@pytest.mark.parametrize("content", ['{"a": ', "[" * 100_000, '["x", ' + "9" * 5000 + "]"],
                         ids=["truncated", "deep-nesting", "huge-integer"])
def test_damaged_vocabulary_without_checksum_names_the_file(bundle_copy, content):
    (bundle_copy / "vocabulary.json").write_text(content, encoding="utf-8")
    _unlist(bundle_copy, "vocabulary.json")
    with pytest.raises(BundleError, match=r"vocabulary.json: damaged bundle file"):
        Predictor.load(bundle_copy)


@pytest.mark.parametrize(
    "change",
    [{"tfidf": []}, {"tfidf": "x"}, {"type_router": ["x"]}, {"summary": None}, {"summary": {"max_words": "40"}},
     {"keywords": 3}, {"type_labels": 5}],
    ids=["tfidf-list", "tfidf-string", "router-list", "summary-null", "summary-string", "keywords-int", "labels-int"],
)
def test_config_values_of_the_wrong_shape_are_bundle_errors(bundle_copy, change):
    edit_config(bundle_copy, change)
    with pytest.raises(BundleError, match="damaged or inconsistent bundle"):
        Predictor.load(bundle_copy)


@pytest.mark.parametrize("name", ["model.safetensors", "model.int8.onnx", "tokenizer.json", "baseline/weights.npz",
                                  "baseline/vocabulary.json"])
def test_truncated_transformer_files_without_checksum_name_the_file(name, tmp_path_factory, tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    import shutil

    from transformer_helpers import tiny_transformer_bundle

    copy = Path(shutil.copytree(tiny_transformer_bundle(tmp_path_factory), tmp_path / "copy"))
    target = copy / name
    target.write_bytes(target.read_bytes()[: target.stat().st_size // 2])
    folder = copy / name.split("/")[0] if "/" in name else copy
    _unlist(folder, name.split("/")[-1] if "/" in name else name)
    if "/" in name:  # the baseline inside: its config is listed (with checksum) in the outer one
        _unlist(copy, f"baseline/{CONFIG_NAME}")
        _unlist(copy, name)
    with pytest.raises(BundleError, match=rf"{name.split('/')[-1]}") as info:
        # torch reads model.safetensors; ONNX Runtime (the default where installed) the .onnx file
        Predictor.load(copy, runtime="torch" if name == "model.safetensors" else None)
    assert str(target) in str(info.value)
