# SPDX-License-Identifier: Apache-2.0
"""Model heads and the LABELS section: what a blob outputs, and the names of its outputs.

A blob's head kind (header field `head`) says which outputs it computes:

    NONE          the last hidden state (and the pooled output when the blob has a pooler)
    CLASSIFY      pooled -> n_labels logits (sequence classification)
    PAIR          as CLASSIFY; the model was trained on sentence pairs ([CLS] a [SEP] b [SEP], type ids 0/1)
    REGRESS       pooled -> one logit; the score is logit * the header's logit_scale
    TAG           every token's final hidden state -> n_tags logits (token classification)
    INTENT_SLOTS  pooled -> n_labels intent logits, and every token -> n_tags BIO slot-tag logits

The LABELS section (optional, read by the runtime) holds two lists of names, the sequence labels (or
intents) then the token tags, as::

    uint32 n_seq, uint32 n_tok
    uint32 offsets[n_seq + n_tok]   from the section start, each to a NUL-terminated UTF-8 name
    names

Each count is 0 (no names) or the head's number of outputs; every name lies inside the section and ends
with a NUL before it. `render_c_lines()` is this module's part of include/mcubert/blob_format.h.
"""

from __future__ import annotations

import enum
import struct
from typing import Sequence


class Head(enum.IntEnum):
    """Head kinds (header field `head`)."""

    NONE = 0
    CLASSIFY = 1
    PAIR = 2
    REGRESS = 3
    TAG = 4
    INTENT_SLOTS = 5


class LabelList(enum.IntEnum):
    """The lists of the LABELS section."""

    SEQUENCE = 0  # sequence labels / intents (n_labels)
    TOKEN = 1  # token tags (n_tags)


# Heads that read the pooled output through the sequence classifier, and those with a token classifier.
SEQUENCE_HEADS = (Head.CLASSIFY, Head.PAIR, Head.REGRESS, Head.INTENT_SLOTS)
TOKEN_HEADS = (Head.TAG, Head.INTENT_SLOTS)
# Which task (`mcubert_task` of a task model's config.json) each head comes from.
TASKS = {Head.CLASSIFY: "classify", Head.PAIR: "pair", Head.REGRESS: "regress", Head.TAG: "tag",
         Head.INTENT_SLOTS: "intent-slots"}
LABELS_HEADER_FORMAT = "<II"
LABELS_HEADER_SIZE = struct.calcsize(LABELS_HEADER_FORMAT)
MAX_LABEL_NAME = 255  # bytes of a name without its NUL


class LabelsError(ValueError):
    """A LABELS section that does not follow the layout; the message says what is wrong."""


def head_problem(head: int, n_labels: int, n_tags: int) -> str | None:
    """Why a head kind does not fit the output counts (None: it fits).

    The C runtime answers -ENOTSUP for an unknown kind and -EINVAL for one that does not fit."""
    if head not in set(Head):
        return f"unknown head kind {head}"
    h = Head(head)
    if (h in SEQUENCE_HEADS) != (n_labels > 0):
        return f"head {h.name} {'needs' if h in SEQUENCE_HEADS else 'has no'} sequence labels (n_labels {n_labels})"
    if (h in TOKEN_HEADS) != (n_tags > 0):
        return f"head {h.name} {'needs' if h in TOKEN_HEADS else 'has no'} token tags (n_tags {n_tags})"
    if h == Head.REGRESS and n_labels != 1:
        return f"a regression head has one output, not {n_labels}"
    return None


def implied_head(n_labels: int, n_tags: int) -> Head:
    """The head of a blob written before head kinds (format 1.0), or when none is asked for."""
    if n_tags:
        return Head.INTENT_SLOTS if n_labels else Head.TAG
    return Head.CLASSIFY if n_labels else Head.NONE


def pack_labels(sequence: Sequence[str], token: Sequence[str]) -> bytes:
    """The LABELS section for these names."""
    names = [str(n).encode("utf-8") for n in (*sequence, *token)]
    for n in names:
        if b"\0" in n or len(n) > MAX_LABEL_NAME:
            raise LabelsError(f"label name {n[:40]!r} holds a NUL or is over {MAX_LABEL_NAME} bytes")
    offset = LABELS_HEADER_SIZE + 4 * len(names)
    offsets = []
    for n in names:
        offsets.append(offset)
        offset += len(n) + 1
    head = struct.pack(LABELS_HEADER_FORMAT, len(sequence), len(token))
    return head + struct.pack(f"<{len(names)}I", *offsets) + b"".join(n + b"\0" for n in names)


def unpack_labels(raw: bytes, n_labels: int, n_tags: int) -> tuple[list[str], list[str]]:
    """(sequence names, token names) of a LABELS section, checked as the C runtime does."""
    raw = bytes(raw)
    if len(raw) < LABELS_HEADER_SIZE:
        raise LabelsError("LABELS section shorter than its counts")
    n_seq, n_tok = struct.unpack_from(LABELS_HEADER_FORMAT, raw)
    if n_seq not in (0, n_labels) or n_tok not in (0, n_tags):
        raise LabelsError(f"LABELS counts {n_seq}, {n_tok} do not match the head's {n_labels}, {n_tags} outputs")
    table_end = LABELS_HEADER_SIZE + 4 * (n_seq + n_tok)
    if table_end > len(raw):
        raise LabelsError("LABELS offsets out of bounds")
    names = []
    for off in struct.unpack_from(f"<{n_seq + n_tok}I", raw, LABELS_HEADER_SIZE):
        end = raw.find(b"\0", off) if table_end <= off < len(raw) else -1
        if end < 0 or end - off > MAX_LABEL_NAME:
            raise LabelsError("a LABELS name is out of bounds or not NUL-terminated")
        try:
            names.append(raw[off:end].decode("utf-8"))
        except UnicodeDecodeError:
            raise LabelsError("a LABELS name is not UTF-8") from None
    return names[:n_seq], names[n_seq:]


def render_c_lines() -> list[str]:
    """Head kinds and the LABELS layout, for include/mcubert/blob_format.h."""
    out = ["/** Head kinds (header field head): which outputs a blob computes. */", "enum mcub_head {"]
    out += [f"\tMCUB_HEAD_{h.name} = {int(h)}," for h in Head]
    out += ["};", "", "/** Lists of the LABELS section. */", "enum mcub_label_list {"]
    out += [f"\tMCUB_LABELS_{x.name} = {int(x)}," for x in LabelList]
    out += ["};", "", f"#define MCUB_MAX_LABEL_NAME {MAX_LABEL_NAME}", "",
            "/** Start of the LABELS section: the two counts, then uint32_t offsets[n_seq + n_tok] from the",
            " * section start, each to a NUL-terminated UTF-8 name. A count is 0 or the head's output count.",
            " */", "struct mcub_labels {", "\tuint32_t n_seq; /* sequence labels / intents */",
            "\tuint32_t n_tok; /* token tags */", "};", "",
            f"_Static_assert(sizeof(struct mcub_labels) == {LABELS_HEADER_SIZE}, \"labels layout\");", ""]
    return out
