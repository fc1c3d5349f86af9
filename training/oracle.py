"""Oracle sentence labels: which article sentences best rebuild the reference summary."""
from __future__ import annotations

from .metrics import rouge_n, rouge_tokens


def greedy_oracle(sentences: list[str], reference: str, max_sentences: int = 3) -> list[int]:
    """Greedily add the sentence that most raises ROUGE-1 + ROUGE-2 F1; stop when none does."""
    ref = rouge_tokens(reference)
    tokens = [rouge_tokens(s) for s in sentences]
    chosen: list[int] = []
    best = 0.0
    while len(chosen) < max_sentences:
        best_i, best_gain = -1, best
        for i, tok in enumerate(tokens):
            if i in chosen or not tok:
                continue
            cand = [t for j in sorted(chosen + [i]) for t in tokens[j]]
            score = rouge_n(cand, ref, 1) + rouge_n(cand, ref, 2)
            if score > best_gain:
                best_i, best_gain = i, score
        if best_i < 0:
            break
        chosen.append(best_i)
        best = best_gain
    return sorted(chosen)
