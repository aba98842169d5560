# SPDX-License-Identifier: Apache-2.0
"""Text data files: the one reader for training, calibration and evaluation.

Files:
  * .tsv with a header: GLUE style. A `sentence` column (SST-2) or two text
    columns (`question`/`sentence`, `sentence1`/`sentence2`, ...) for pairs,
    and an optional `label` column (ints, or names mapped through the model's
    labels).
  * anything else: one sentence per line, no header, no labels.

`read_examples` gives every row as an `Example` (with its line number, for
messages); `read_tsv` is the training view: single sentences with 0/1 labels.
Malformed input is a `DataError` naming the file and the line.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any, Sequence

from mcubert.training.errors import DataError, TrainError

log = logging.getLogger(__name__)

PAIR_COLUMNS = (("question", "sentence"), ("sentence1", "sentence2"), ("question1", "question2"),
                ("premise", "hypothesis"))
LABELS = {0: "negative", 1: "positive"}  # the training task's classes (SST-2)

__all__ = ["DataError", "Example", "LABELS", "PAIR_COLUMNS", "encode", "label_index", "make_tokenizer",
           "read_examples", "read_tsv"]


@dataclasses.dataclass(frozen=True)
class Example:
    text: str
    text_b: str | None = None
    label: str | None = None
    line: int = 0  # 1-based line in its file

    @property
    def pair(self) -> tuple[str, str | None]:
        """(text, text_b): a tokenizer's encode_batch item."""
        return self.text, self.text_b


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: cannot read ({getattr(e, 'strerror', None) or e})") from None


def _text_columns(path: Path, header: list[str]) -> tuple[str, str | None]:
    cols = set(header)
    pair = next(((a, b) for a, b in PAIR_COLUMNS if a in cols and b in cols), None)
    if pair is not None:
        return pair
    if "sentence" in cols:
        return "sentence", None
    raise DataError(f"{path}: tsv needs a 'sentence' column or a pair of text columns (header: {header})")


def _tsv_examples(path: Path, lines: list[str], limit: int | None) -> list[Example]:
    header = lines[0].split("\t") if lines else []
    if not any(h.strip() for h in header):
        raise DataError(f"{path}: empty tsv (no header)")
    col = {name: i for i, name in enumerate(header)}
    a, b = _text_columns(path, header)
    ia, ib, il = col[a], None if b is None else col[b], col.get("label")
    need = max(i for i in (ia, ib, il) if i is not None) + 1
    out: list[Example] = []
    for n, line in enumerate(lines[1:], 2):
        if limit is not None and len(out) >= limit:
            break
        if not line.strip():
            continue
        f = line.split("\t")
        if len(f) < need:
            raise DataError(f"{path}:{n}: {len(f)} tab-separated fields, the header names {len(header)}")
        out.append(Example(f[ia].strip(), None if ib is None else f[ib].strip(),
                           None if il is None else f[il].strip(), n))
    return out


def _line_examples(lines: list[str], limit: int | None) -> list[Example]:
    out: list[Example] = []
    for n, line in enumerate(lines, 1):
        if limit is not None and len(out) >= limit:
            break
        if line.strip():
            out.append(Example(line.strip(), line=n))
    return out


def read_examples(path: str | Path, limit: int | None = None) -> list[Example]:
    """Every example of a .tsv (with a header) or a text file (one sentence per line); the first `limit`."""
    path = Path(path)
    lines = _read_lines(path)
    out = _tsv_examples(path, lines, limit) if path.suffix == ".tsv" else _line_examples(lines, limit)
    if not out:
        raise DataError(f"{path}: no examples")
    return out


def label_index(label: str | None, labels: Sequence[str]) -> int | None:
    """An example's label as a class index: an int, or a name among the model's labels."""
    if label is None or label == "":
        return None
    if label.lstrip("-").isdigit():
        return int(label)
    low = [lab.lower() for lab in labels]
    if label.lower() in low:
        return low.index(label.lower())
    raise DataError(f"label '{label}' is neither an index nor one of the model's labels {list(labels)}")


def read_tsv(path: str | Path, limit: int | None = None) -> tuple[list[str], list[int]]:
    """Training data: a single-sentence TSV whose header names `sentence` and `label`; labels 0 or 1."""
    examples = read_examples(path, limit)
    if examples[0].text_b is not None:
        raise DataError(f"{path}: sentence pairs cannot be trained on yet (single `sentence` column only)")
    labels = [_train_label(path, e) for e in examples]
    return [e.text for e in examples], labels


def _train_label(path: str | Path, e: Example) -> int:
    if e.label is None:
        raise DataError(f"{path}: header must name 'sentence' and 'label' columns")
    try:
        lab = int(e.label)
    except ValueError:
        raise DataError(f"{path}:{e.line}: label '{e.label}' is not an integer") from None
    if lab not in LABELS:
        raise DataError(f"{path}:{e.line}: label {lab} is not 0 or 1")
    return lab


# ---------------------------------------------------------------- text to token ids (training)

def make_tokenizer(vocab: str | Path) -> Any:
    """The Hugging Face WordPiece tokenizer of a vocab.txt (mcubert.tokenization), failing with a TrainError;
    a vocabulary with repeated tokens is refused (a model's ids must be its line numbers)."""
    from mcubert.tokenization import TokenizerError
    from mcubert.tokenization import make_tokenizer as make

    try:
        tok = make(vocab, "hf")
    except TokenizerError as e:
        raise TrainError(str(e)) from None
    n = len(_read_lines(Path(vocab)))
    if tok.vocab_size != n:
        raise TrainError(f"{vocab}: read {tok.vocab_size} tokens of {n}")
    return tok


def encode(tokenizer: Any, sentences: Sequence[str], max_len: int) -> list[list[int]]:
    """[CLS] sentence [SEP] token ids of each sentence, truncated to max_len."""
    from mcubert.tokenization import encode_ids

    return encode_ids(tokenizer, sentences, max_len)
