# SPDX-License-Identifier: Apache-2.0
"""Text data for calibration and evaluation, and host-side tokenisation.

Files:
  * .tsv with a header: GLUE style. A `sentence` column (SST-2) or two text
    columns (`question`/`sentence`, `sentence1`/`sentence2`, ...) for pairs,
    and an optional `label` column (ints, or names mapped through the model's
    labels).
  * anything else: one sentence per line, no labels.
"""

from __future__ import annotations

import csv
import dataclasses
import logging
from pathlib import Path
from typing import Sequence

log = logging.getLogger(__name__)

PAIR_COLUMNS = (("question", "sentence"), ("sentence1", "sentence2"), ("question1", "question2"),
                ("premise", "hypothesis"))


class DataError(ValueError):
    pass


@dataclasses.dataclass
class Example:
    text: str
    text_b: str | None = None
    label: str | None = None


def read_examples(path: str | Path, limit: int | None = None) -> list[Example]:
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: cannot read ({e})") from None
    out: list[Example] = []
    if path.suffix == ".tsv":
        rows = csv.reader(raw.splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(rows, None)
        if not header:
            raise DataError(f"{path}: empty tsv")
        cols = {name: i for i, name in enumerate(header)}
        pair = next(((a, b) for a, b in PAIR_COLUMNS if a in cols and b in cols), None)
        if pair is None and "sentence" not in cols:
            raise DataError(f"{path}: tsv needs a 'sentence' column or a pair of text columns (header: {header})")
        lab = cols.get("label")
        for row in rows:
            if len(row) < len(header):
                continue
            label = row[lab] if lab is not None else None
            if pair:
                out.append(Example(row[cols[pair[0]]].strip(), row[cols[pair[1]]].strip(), label))
            else:
                out.append(Example(row[cols["sentence"]].strip(), None, label))
            if limit and len(out) >= limit:
                break
    else:
        for line in raw.splitlines():
            if line.strip():
                out.append(Example(line.strip()))
            if limit and len(out) >= limit:
                break
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


class HostTokenizer:
    """BERT uncased WordPiece on the host (Hugging Face `tokenizers`)."""

    def __init__(self, vocab: str | Path, lowercase: bool = True) -> None:
        from tokenizers import BertWordPieceTokenizer

        vocab = Path(vocab)
        if not vocab.is_file():
            raise DataError(f"{vocab}: vocabulary file not found")
        self.vocab_path = vocab
        try:
            self.tok = BertWordPieceTokenizer(str(vocab), lowercase=lowercase)
        except Exception as e:  # noqa: BLE001 - tokenizers raises TypeError for a vocabulary without [SEP]
            raise DataError(f"{vocab}: not a BERT vocabulary ({e})") from None

    def encode(self, text: str, text_b: str | None = None, max_len: int = 512) -> tuple[list[int], list[int]]:
        self.tok.enable_truncation(max_length=max_len)
        enc = self.tok.encode(text, text_b) if text_b is not None else self.tok.encode(text)
        return list(enc.ids), list(enc.type_ids)

    def encode_batch(self, examples: Sequence[Example], max_len: int = 512) -> list[tuple[list[int], list[int]]]:
        self.tok.enable_truncation(max_length=max_len)
        inputs = [(e.text, e.text_b) if e.text_b is not None else e.text for e in examples]
        return [(list(x.ids), list(x.type_ids)) for x in self.tok.encode_batch(inputs)]
