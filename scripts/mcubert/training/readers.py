# SPDX-License-Identifier: Apache-2.0
"""Readers of the users' task data: labelled TSV (header or not), CoNLL BIO, intent+slots JSON Lines, SNIPS JSON.

  * TSV (classify, pair, regress): GLUE style with a header (as `data.read_examples`), or without one:
    `text<TAB>label` or `text<TAB>text_b<TAB>label` on every line.
  * CoNLL (tag): `token<TAB or spaces>tag` per line (the tag is the last field), a blank line between
    sentences, `-DOCSTART-` lines ignored; tags are `O`, `B-x` or `I-x`.
  * JSON Lines (intent-slots): one object a line,
    `{"text": "turn on the lights in the living room", "intent": "SwitchOn",
      "slots": [{"slot": "room", "start": 22, "end": 37}]}`,
    `start`/`end` are CHARACTER offsets (Python string indices, Unicode code points) into `text`, end exclusive.
  * SNIPS JSON (intent-slots): `{"<Intent>": [{"data": [{"text": "..."}, {"text": "...", "entity": "x"}]}, ...]}`,
    a file or a folder of `*.json` files; UTF-8, and Latin-1 where a file is not valid UTF-8
    (`train_PlayMusic_full.json` of the published data).

Every reader raises one `DataError` line naming the file and the line of malformed input.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from pathlib import Path
from typing import Any, Iterable, Sequence

from mcubert.training.data import PAIR_COLUMNS, Example, read_examples
from mcubert.training.errors import DataError

log = logging.getLogger(__name__)

TAG_RE = re.compile(r"^(O|[BI]-\S+)$")

__all__ = ["Slot", "TaggedWords", "Utterance", "read_conll", "read_jsonl", "read_labelled_tsv", "read_snips",
           "read_text", "read_utterances", "write_conll", "write_jsonl", "write_tsv"]


@dataclasses.dataclass(frozen=True)
class Slot:
    name: str
    start: int  # character offsets into the utterance's text, [start, end)
    end: int


@dataclasses.dataclass(frozen=True)
class Utterance:
    text: str
    intent: str | None
    slots: tuple[Slot, ...] = ()
    where: str = ""  # "file:line", for messages

    def slot_texts(self) -> list[tuple[str, str]]:
        """(name, text) of every slot: what slot F1 compares."""
        return [(s.name, self.text[s.start:s.end]) for s in self.slots]


@dataclasses.dataclass(frozen=True)
class TaggedWords:
    words: tuple[str, ...]
    tags: tuple[str, ...]
    where: str = ""


# ---------------------------------------------------------------- files


def _line_of(raw: bytes, pos: int) -> int:
    return raw.count(b"\n", 0, pos) + 1


def read_text(path: Path, latin1_fallback: bool = False) -> str:
    """A file's text: UTF-8; with `latin1_fallback`, Latin-1 when the file is not valid UTF-8."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        if not latin1_fallback:
            raise DataError(f"{path}:{_line_of(raw, e.start)}: not valid UTF-8 (byte 0x{raw[e.start]:02x})") from None
        log.info("%s is not valid UTF-8 (line %d): read as Latin-1", path, _line_of(raw, e.start))
        return raw.decode("latin-1")


def _limit(out: list[Any], limit: int | None) -> bool:
    return limit is not None and len(out) >= limit


# ---------------------------------------------------------------- TSV (classify, pair, regress)


def _has_header(first: str) -> bool:
    cols = set(first.strip().split("\t"))
    names = {"sentence", "label"} | {c for pair in PAIR_COLUMNS for c in pair}
    return bool(cols & names)


def read_labelled_tsv(path: str | Path, limit: int | None = None) -> list[Example]:
    """Labelled examples of a TSV: GLUE style with a header, or headerless `text[<TAB>text_b]<TAB>label` rows."""
    path = Path(path)
    lines = read_text(path).splitlines()
    if lines and _has_header(lines[0]):
        out = read_examples(path, limit)
        missing = next((e for e in out if e.label is None), None)
        if missing is not None:
            raise DataError(f"{path}: the header names no 'label' column")
        return out
    out = []
    width = None
    for n, line in enumerate(lines, 1):
        if _limit(out, limit):
            break
        if not line.strip():
            continue
        f = [x.strip() for x in line.split("\t")]
        width = width or len(f)
        if len(f) not in (2, 3) or len(f) != width:
            raise DataError(f"{path}:{n}: {len(f)} tab-separated fields; a headerless TSV has text<TAB>label "
                            f"or text<TAB>text_b<TAB>label on every line")
        if not f[-1]:
            raise DataError(f"{path}:{n}: empty label")
        out.append(Example(f[0], f[1] if len(f) == 3 else None, f[-1], n))
    if not out:
        raise DataError(f"{path}: no examples")
    return out


def write_tsv(examples: Sequence[Example], path: Path) -> Path:
    """Labelled examples as a GLUE-style TSV with a header (read back by read_labelled_tsv and read_examples)."""
    pair = examples[0].text_b is not None
    rows = ["sentence1\tsentence2\tlabel" if pair else "sentence\tlabel"]
    rows += ["\t".join([e.text] + ([e.text_b or ""] if pair else []) + [e.label or ""]) for e in examples]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------- CoNLL BIO (tag)


def _conll_tag(path: Path, n: int, line: str) -> tuple[str, str]:
    f = line.split()
    if len(f) < 2:
        raise DataError(f"{path}:{n}: expected 'token<TAB>tag', got {line.strip()!r}")
    if not TAG_RE.match(f[-1]):
        raise DataError(f"{path}:{n}: tag {f[-1]!r} is not O, B-<name> or I-<name>")
    return f[0], f[-1]


def read_conll(path: str | Path, limit: int | None = None) -> list[TaggedWords]:
    """Sentences of a CoNLL-style BIO file (token and tag per line, blank lines between sentences)."""
    path = Path(path)
    out: list[TaggedWords] = []
    words: list[str] = []
    tags: list[str] = []
    start = 0
    for n, line in enumerate(read_text(path).splitlines() + [""], 1):
        if _limit(out, limit):
            break
        if line.startswith("-DOCSTART-"):
            continue
        if not line.strip():
            if words:
                out.append(TaggedWords(tuple(words), tuple(tags), f"{path}:{start}"))
            words, tags = [], []
            continue
        w, t = _conll_tag(path, n, line)
        start = start if words else n
        words.append(w)
        tags.append(t)
    if not out:
        raise DataError(f"{path}: no sentences")
    return out


def write_conll(sentences: Sequence[TaggedWords], path: Path) -> Path:
    """Tagged sentences as a CoNLL file (read back by read_conll)."""
    blocks = ["\n".join(f"{w}\t{t}" for w, t in zip(s.words, s.tags)) for s in sentences]
    path.write_text("\n\n".join(blocks) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------- JSON Lines (intent-slots)


def _jsonl_slot(where: str, text: str, s: Any) -> Slot:
    if not isinstance(s, dict) or not isinstance(s.get("slot"), str) or not s["slot"]:
        raise DataError(f"{where}: a slot must be {{\"slot\": name, \"start\": int, \"end\": int}}")
    a, b = s.get("start"), s.get("end")
    if not (isinstance(a, int) and isinstance(b, int) and 0 <= a < b <= len(text)):
        raise DataError(f"{where}: slot {s['slot']!r} offsets {a}..{b} are not inside the text "
                        f"(0..{len(text)} characters)")
    return Slot(s["slot"], a, b)


def _checked_slots(where: str, slots: Iterable[Slot]) -> tuple[Slot, ...]:
    out = tuple(sorted(slots, key=lambda s: s.start))
    for a, b in zip(out, out[1:]):
        if b.start < a.end:
            raise DataError(f"{where}: slots {a.name!r} and {b.name!r} overlap")
    return out


def _jsonl_utterance(where: str, line: str) -> Utterance:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        raise DataError(f"{where}: not JSON ({e.msg}, column {e.colno})") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        raise DataError(f"{where}: expected an object with a \"text\" string")
    intent = obj.get("intent")
    if intent is not None and not isinstance(intent, str):
        raise DataError(f"{where}: \"intent\" must be a string")
    slots = obj.get("slots", [])
    if not isinstance(slots, list):
        raise DataError(f"{where}: \"slots\" must be a list")
    text = obj["text"]
    return Utterance(text, intent, _checked_slots(where, (_jsonl_slot(where, text, s) for s in slots)), where)


def read_jsonl(path: str | Path, limit: int | None = None) -> list[Utterance]:
    """Utterances of a JSON Lines file (the format in this module's docstring)."""
    path = Path(path)
    out: list[Utterance] = []
    for n, line in enumerate(read_text(path).splitlines(), 1):
        if _limit(out, limit):
            break
        if line.strip():
            out.append(_jsonl_utterance(f"{path}:{n}", line))
    if not out:
        raise DataError(f"{path}: no utterances")
    return out


def write_jsonl(utterances: Sequence[Utterance], path: Path) -> Path:
    """Utterances as JSON Lines (read back by read_jsonl)."""
    rows = [json.dumps({"text": u.text, "intent": u.intent,
                        "slots": [{"slot": s.name, "start": s.start, "end": s.end} for s in u.slots]},
                       ensure_ascii=False) for u in utterances]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------- SNIPS JSON (intent-slots)


def _data_lines(text: str) -> list[int]:
    """The line of each `"data"` key, in order: where each SNIPS utterance starts (for messages)."""
    out, line, pos = [], 1, 0
    for m in re.finditer(r'"data"\s*:', text):
        line += text.count("\n", pos, m.start())
        pos = m.start()
        out.append(line)
    return out


def _snips_utterance(where: str, intent: str, item: Any) -> Utterance:
    chunks = item.get("data") if isinstance(item, dict) else None
    if not isinstance(chunks, list):
        raise DataError(f"{where}: an utterance must be {{\"data\": [chunks]}}")
    text, slots = "", []
    for c in chunks:
        if not isinstance(c, dict) or not isinstance(c.get("text"), str):
            raise DataError(f"{where}: a chunk must be {{\"text\": ...[, \"entity\": ...]}}")
        ent = c.get("entity")
        if ent is not None:
            if not isinstance(ent, str) or not ent:
                raise DataError(f"{where}: \"entity\" must be a slot name")
            lead = len(c["text"]) - len(c["text"].lstrip())  # slot values without surrounding spaces
            value = c["text"].strip()
            if value:
                slots.append(Slot(ent, len(text) + lead, len(text) + lead + len(value)))
        text += c["text"]
    return Utterance(text, intent, _checked_slots(where, slots), where)


def _snips_file(path: Path) -> list[Utterance]:
    text = read_text(path, latin1_fallback=True)
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise DataError(f"{path}:{e.lineno}: not JSON ({e.msg})") from None
    if not isinstance(obj, dict) or not all(isinstance(v, list) for v in obj.values()):
        raise DataError(f"{path}:1: expected {{\"<Intent>\": [utterances]}} (the SNIPS format)")
    lines = _data_lines(text)
    out: list[Utterance] = []
    for intent, items in obj.items():
        for item in items:
            line = lines[len(out)] if len(out) < len(lines) else 1
            out.append(_snips_utterance(f"{path}:{line}", intent, item))
    return out


def read_snips(path: str | Path, limit: int | None = None) -> list[Utterance]:
    """Utterances of a SNIPS JSON file, or of every `*.json` file of a folder (sorted by name)."""
    path = Path(path)
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    out: list[Utterance] = []
    for f in files:
        out += _snips_file(f)
    if not out:
        raise DataError(f"{path}: no utterances (no SNIPS .json files?)")
    return out[:limit] if limit is not None else out


def read_utterances(path: str | Path, limit: int | None = None) -> list[Utterance]:
    """Intent+slots data: JSON Lines (.jsonl) or SNIPS JSON (a .json file or a folder of them)."""
    path = Path(path)
    if path.suffix == ".jsonl":
        return read_jsonl(path, limit)
    if path.is_dir() or path.suffix == ".json":
        return read_snips(path, limit)
    raise DataError(f"{path}: intent+slots data must be .jsonl (JSON Lines), .json (SNIPS) or a folder of .json")
