"""Size limits on everything NewsLens accepts: pasted, uploaded, called or read for training.

One place, so the app, the API, ``predict``, the data reader and corrections agree. Each
limit can be changed with an environment variable of the same name prefixed ``NEWSLENS_``
(e.g. ``NEWSLENS_MAX_TEXT_CHARS=500000``); the README lists them.
"""
from __future__ import annotations

import os


def _limit(name: str, default: int) -> int:
    raw = os.environ.get(f"NEWSLENS_{name}")
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"NEWSLENS_{name}={raw!r}: expected a whole number (default {default}).") from None
    if value < 1:
        raise ValueError(f"NEWSLENS_{name}={raw!r}: must be at least 1 (default {default}).")
    return value


# An article's text: ~1 MB of Vietnamese, 100x the longest news article in the shared corpora.
MAX_TEXT_CHARS = _limit("MAX_TEXT_CHARS", 2_000_000)
# A headline: the longest in the shared corpora is a few hundred characters.
MAX_TITLE_CHARS = _limit("MAX_TITLE_CHARS", 2_000)
# A reference or corrected summary: a few paragraphs.
MAX_SUMMARY_CHARS = _limit("MAX_SUMMARY_CHARS", 20_000)
# One label (a type, a topic, a tag) and how many labels one record may carry.
MAX_LABEL_CHARS = _limit("MAX_LABEL_CHARS", 200)
MAX_LABELS = _limit("MAX_LABELS", 100)
# id, source, url and date of a record (the longest URL in the shared corpora is ~240 characters).
MAX_META_CHARS = _limit("MAX_META_CHARS", 4_000)
# One record as stored in a data file (a JSONL line or a CSV record), quotes and escapes
# included: JSON may spell a Vietnamese letter as \uXXXX, 6 characters.
MAX_RECORD_CHARS = _limit("MAX_RECORD_CHARS", 16_000_000)
# Articles in one API call or one batch upload.
MAX_BATCH_ARTICLES = _limit("MAX_BATCH_ARTICLES", 5_000)
# Bytes of an uploaded file (a document or a data file in the app), before and after inflating.
MAX_UPLOAD_BYTES = _limit("MAX_UPLOAD_BYTES", 5 * 1024 * 1024)
MAX_INFLATED_BYTES = _limit("MAX_INFLATED_BYTES", 20 * 1024 * 1024)
# The corrections file the app appends to ($NEWSLENS_HOME/corrections.jsonl): once it holds this
# many bytes the Corrections tab refuses more, until it is retrained on and moved away.
MAX_CORRECTIONS_BYTES = _limit("MAX_CORRECTIONS_BYTES", 200 * 1024 * 1024)
