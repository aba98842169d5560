# SPDX-License-Identifier: Apache-2.0
"""Text in, intent and slots out, as the device computes them: `mcubert_nlu_run()` (subsys/mcubert/nlu.c).

One C function tokenizes with byte spans, runs the model, takes the intent and each token's tag and decodes
the slots; the Zephyr sample, its shell command and the QEMU harness (mode 4) call it, and so does
`NativeNlu` here, on the host through ctypes. `frames()` runs texts on the host or on an emulated Cortex-M
(where the instruction count covers that whole call); `evaluate()` scores them against gold utterances with
the training metrics (intent accuracy, slot F1, frame accuracy).

A frame: {"intent": name or None, "intent_id", "n_tokens", "slots": [{"slot", "text", "start", "end"}]}
(byte offsets into the UTF-8 text, as `mcubert run --json`); on a target also "instructions", "arena_peak",
"stack_peak", "static_ram" and "ram_total".
"""

from __future__ import annotations

import ctypes
import errno
import statistics
from typing import Any, Sequence

import numpy as np

from mcubert.formats import blob as blobmod
from mcubert.slots import TagSet
from mcubert.targets import native
from mcubert.targets.ctokenizer import SLOT_DTYPE, CTokenizer, to_bytes

__all__ = ["NativeNlu", "console_lines", "evaluate", "frames", "target_summary"]

_vp = ctypes.c_void_p


class _Storage(ctypes.Structure):
    """struct mcubert_nlu_storage"""

    _fields_ = [("ids", _vp), ("types", _vp), ("spans", _vp), ("tag_ids", _vp), ("tag_names", _vp),
                ("tag_info", _vp), ("max_tokens", ctypes.c_uint16), ("max_tags", ctypes.c_uint16)]


class _Result(ctypes.Structure):
    """struct mcubert_nlu_result"""

    _fields_ = [("intent", ctypes.c_int), ("n_tokens", ctypes.c_uint16), ("n_slots", ctypes.c_uint16)]


_configured = False


def _lib() -> ctypes.CDLL:
    global _configured
    lib = native.load()
    if not _configured:
        lib.mcubert_nlu_init.restype = ctypes.c_int
        lib.mcubert_nlu_init.argtypes = [_vp, _vp, _vp, _vp]
        lib.mcubert_nlu_run.restype = ctypes.c_int
        lib.mcubert_nlu_run.argtypes = [_vp, ctypes.c_char_p, ctypes.c_size_t, _vp, _vp, ctypes.c_uint16]
        lib.mcubert_nlu_intent.restype = ctypes.c_char_p
        lib.mcubert_nlu_intent.argtypes = [_vp, ctypes.c_int]
        lib.mcubert_nlu_slot_name.restype = ctypes.c_char_p
        lib.mcubert_nlu_slot_name.argtypes = [_vp, ctypes.c_uint16, _vp]
        _configured = True
    return lib


def _slot_record(name: str, raw: bytes, start: int, end: int) -> dict[str, Any]:
    return {"slot": name, "text": raw[start:end].decode("utf-8", "replace"), "start": start, "end": end}


class NativeNlu:
    """mcubert_nlu_init() over a blob and its own vocabulary, on the host C runtime."""

    def __init__(self, blob: bytes) -> None:
        b = blobmod.unpack(bytes(blob))
        vocab = b.sections.get(int(blobmod.Sec.VOCAB))
        if not vocab:  # the blob was converted with --no-vocab
            raise native.RuntimeErrno("mcubert_vocab", -errno.ENOENT)
        self.lib = _lib()
        self.rt = native.Runtime(blob)
        self.tok = CTokenizer(packed=bytes(vocab))
        n, tags = b.cfg.max_seq_len, max(1, b.cfg.n_tags)
        self._bufs = [np.zeros(n, np.int32), np.zeros(n, np.uint8), np.zeros(n * 12 // 8 + 1, np.uint64),
                      np.zeros(n, np.uint16), np.zeros(tags, np.uint64), np.zeros(tags, np.uint32)]
        self._storage = _Storage(*[a.ctypes.data for a in self._bufs], n, tags)
        self._slots = np.zeros(n, dtype=SLOT_DTYPE)
        self._handle = np.zeros(64, dtype=np.uint64)
        rc = self.lib.mcubert_nlu_init(self._handle.ctypes.data, self.rt._handle.ctypes.data,
                                       self.tok._handle.ctypes.data, ctypes.addressof(self._storage))
        if rc != 0:
            raise native.RuntimeErrno("mcubert_nlu_init", rc)

    def run(self, text: str | bytes) -> dict[str, Any]:
        """The frame of one text."""
        raw = to_bytes(text)
        res = _Result()
        cap = len(self._slots)
        rc = self.lib.mcubert_nlu_run(self._handle.ctypes.data, raw, len(raw), ctypes.byref(res),
                                      self._slots.ctypes.data, cap)
        if rc != 0:
            raise native.RuntimeErrno("mcubert_nlu_run", rc)
        h = self._handle.ctypes.data
        name = self.lib.mcubert_nlu_intent(h, res.intent) if res.intent >= 0 else None
        slots = [_slot_record(self.lib.mcubert_nlu_slot_name(h, int(s["slot"]), None).decode("utf-8"), raw,
                              int(s["start"]), int(s["end"])) for s in self._slots[:min(res.n_slots, cap)]]
        return {"intent": None if name is None else name.decode("utf-8"),
                "intent_id": res.intent if res.intent >= 0 else None, "n_tokens": int(res.n_tokens), "slots": slots}


def _target_frames(blob: bytes, texts: Sequence[str | bytes], target: str) -> list[dict[str, Any]]:
    from mcubert.targets import qemu

    meta = blobmod.unpack(blob).meta()
    intents, tags = meta.get("labels") or [], TagSet(meta["tags"])
    out = []
    for text, r in zip(texts, qemu.nlu(blob, texts, target=target)):
        if r["rc"] != 0:
            raise qemu.QemuError(f"mcubert_nlu_run failed on {target}: {r.get('err')}")
        raw = to_bytes(text)
        label = r["label"]
        ram = {k: int(r[k]) for k in ("arena_peak", "stack_peak", "static_ram")}
        out.append({"intent": intents[label] if label is not None and label < len(intents) else None,
                    "intent_id": label, "n_tokens": r["n_tokens"],
                    "slots": [_slot_record(tags.slot_name(s), raw, a, b) for s, _t, a, b in r.get("slots", [])],
                    "instructions": int(r["insns"]), **ram, "ram_total": sum(ram.values())})
    return out


def frames(blob: bytes, texts: Sequence[str | bytes], target: str = "host") -> list[dict[str, Any]]:
    """The frame of each text on the host C runtime ("host") or an emulated core ("m7", "m3", ...)."""
    if target == "host":
        nlu = NativeNlu(blob)
        return [nlu.run(t) for t in texts]
    return _target_frames(bytes(blob), texts, target)


def console_lines(frame: dict[str, Any], prefix: str = "") -> list[str]:
    """The lines samples/nlu prints for a frame (understand_print() in samples/nlu/src/understand.c), but the
    cost line: "<prefix>intent NAME, N tokens", then "<prefix>slot NAME "TEXT" bytes [START, END)" per slot.
    `frame` is one of frames() or `mcubert run --json`'s output (its token count: len(ids))."""
    n = frame["n_tokens"] if "n_tokens" in frame else len(frame["ids"])
    out = [f"{prefix}intent {frame.get('intent') or 'none'}, {n} tokens"]
    out += [f'{prefix}slot {s["slot"]} "{s["text"]}" bytes [{s["start"]}, {s["end"]})' for s in frame["slots"] or []]
    return out


def target_summary(rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Median and maximum instructions per utterance, and peak RAM, of frames run on a target."""
    insns = [r["instructions"] for r in rows]
    return {"utterances": len(rows), "median_instructions": int(statistics.median(insns)),
            "max_instructions": max(insns), "peak_ram": max(r["ram_total"] for r in rows),
            "peak_arena": max(r["arena_peak"] for r in rows), "peak_stack": max(r["stack_peak"] for r in rows)}


def evaluate(blob: bytes, utterances: Sequence[Any], target: str = "host") -> tuple[dict[str, Any], list[dict]]:
    """Intent accuracy, slot F1 (name and text match a gold slot) and frame accuracy of the blob's frames on
    `utterances` (training.readers.Utterance), and the frames."""
    from mcubert.training.metrics import intent_slots

    got = frames(blob, [u.text for u in utterances], target)
    m = intent_slots([f["intent"] for f in got], [u.intent for u in utterances],
                     [[(s["slot"], s["text"]) for s in f["slots"]] for f in got],
                     [u.slot_texts() for u in utterances])
    if target != "host" and got:
        m["emulated"] = {"name": target, **target_summary(got)}
    return m, got
