# SPDX-License-Identifier: Apache-2.0
"""`mcubert.convert()`: a BERT checkpoint in, an int8 .mcub blob out.

The whole conversion pipeline in one function that returns a value and prints nothing: load the checkpoint
(any form `conversion.checkpoint.load` takes, or a `Checkpoint`), optionally extend or trim its position
table, calibrate activation ranges on text (or given token ids), quantise, plan memory and pack the
vocabulary. `mcubert convert`, the Zephyr sample build and the benchmarks all call it.

    blob = mcubert.convert("model.pt", calib="calib.txt", max_seq_len=128)
    blob.save("model.mcub")
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence, Union

import numpy as np

from mcubert.conversion.checkpoint import Checkpoint, load
from mcubert.tokenization import encode_cased, make_tokenizer

log = logging.getLogger(__name__)

TokenSeq = tuple[Sequence[int], Union[Sequence[int], None]]
RANDOM_CALIB_COUNT = 32


class ConvertError(ValueError):
    """A conversion the user asked for that cannot be done; the message is one line."""


@dataclasses.dataclass(frozen=True)
class ConvertedBlob:
    """The bytes of an .mcub blob and what the conversion knows about them.

    (`formats.blob.Blob` is the parsed layout; `parsed` gives it.)
    """

    data: bytes
    parameters: int  # float parameters of the source model (clustered index tensors not counted)
    calibration: str  # what the activation ranges were calibrated on
    vocab: Path | None  # the vocabulary found or given (None: none)
    vocab_embedded: bool  # the packed vocabulary is in the blob

    @functools.cached_property
    def parsed(self) -> Any:
        from mcubert.formats import blob

        return blob.unpack(self.data)

    @property
    def meta(self) -> dict[str, Any]:
        return self.parsed.meta()

    @property
    def labels(self) -> list[str]:
        return list(self.meta.get("labels") or [])

    def summary(self) -> dict[str, Any]:
        """Size, shape and memory plan as a JSON-ready dict (what `mcubert convert --json` prints)."""
        from mcubert.formats import blob

        b = self.parsed
        cfg = b.cfg
        plan = b.plan()
        schedule = blob.Schedule(int(b.header["schedule"])).name.lower()
        return {
            "parameters": self.parameters, "blob_bytes": len(self.data), "flash_bytes": len(self.data),
            "max_seq_len": cfg.max_seq_len, "arena_bytes": b.arena_bytes, "schedule": schedule,
            "config": {"layers": cfg.n_layers, "hidden": cfg.hidden, "heads": cfg.n_heads, "ffn": cfg.ffn,
                       "vocab": cfg.vocab_size, "labels": self.labels},
            "calibration": self.calibration, "vocab": None if self.vocab is None else str(self.vocab),
            "vocab_embedded": self.vocab_embedded,
            "weights": "int16" if cfg.flags & blob.FLAG_WEIGHTS_S16 else "int8",
            "plan": {"schedule": schedule, "q_group": plan["q_group"], "ffn_tile": plan["ffn_tile"],
                     "key_block": plan["key_block"], "region_bytes": list(plan["region_bytes"])},
        }

    def save(self, path: str | Path) -> Path:
        """Write the blob atomically (a temporary file beside `path`, then a rename): never a partial file."""
        path = Path(path)
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        except OSError as e:
            raise ConvertError(f"{path}: {e.strerror}") from None
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(self.data)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o666 & ~_umask())
            os.replace(tmp, path)
        except OSError as e:
            Path(tmp).unlink(missing_ok=True)
            raise ConvertError(f"{path}: {e.strerror}") from None
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# ---------------------------------------------------------------- finding the vocabulary

def _recorded(config: Mapping[str, Any], key: str) -> Iterator[str]:
    """String values under `key` anywhere in the checkpoint's mcubert_* records (what train/compress wrote)."""
    stack: list[Any] = [v for k, v in config.items() if str(k).startswith("mcubert_")]
    while stack:
        node = stack.pop(0)
        if isinstance(node, Mapping):
            for k, v in node.items():
                if k == key and isinstance(v, str) and v:
                    yield v
                elif isinstance(v, Mapping):
                    stack.append(v)


def _resolve(recorded: str, model: Path) -> Iterator[Path]:
    """A recorded path as written, then relative to the model's folder and each folder above it."""
    p = Path(recorded)
    yield p
    if not p.is_absolute():
        base = model.resolve() if model.is_dir() else model.resolve().parent
        for d in (base, *base.parents):
            yield d / p


def vocab_candidates(model: str | Path, config: Mapping[str, Any]) -> Iterator[Path]:
    """Where a model's vocabulary may be, best first: beside the model, then what the checkpoint recorded
    (its training vocabulary, then its teacher's directory)."""
    model = Path(model)
    yield (model if model.is_dir() else model.parent) / "vocab.txt"
    for rec in _recorded(config, "vocab"):
        yield from _resolve(rec, model)
    for rec in _recorded(config, "teacher"):
        for d in _resolve(rec, model):
            yield d / "vocab.txt"


def _count_lines(path: Path) -> int:
    with open(path, "rb") as f:
        return sum(1 for _ in f)


def find_vocab(model: str | Path, config: Mapping[str, Any], vocab_size: int) -> Path | None:
    """The first candidate vocabulary that exists and has the model's vocab_size tokens, or None."""
    seen: set[Path] = set()
    for cand in vocab_candidates(model, config):
        if cand in seen or not cand.is_file():
            continue
        seen.add(cand)
        n = _count_lines(cand)
        if n == vocab_size:
            return cand
        log.warning("%s has %d tokens, the model %d: not its vocabulary", cand, n, vocab_size)
    return None


# ---------------------------------------------------------------- calibration

def _calibration(calib: str | Path | Sequence[TokenSeq] | None, vocab: Path | None, vocab_size: int,
                 max_seq_len: int, count: int, seed: int, case_types: bool = False) -> tuple[list[TokenSeq], str]:
    from mcubert.training import data

    rng = np.random.default_rng(seed)
    if calib is None:
        log.warning("no calibration text: calibrating on random token ids; pass --calib FILE for real accuracy")
        lengths = rng.integers(min(8, max_seq_len), max_seq_len + 1, size=RANDOM_CALIB_COUNT)
        seqs: list[TokenSeq] = [(rng.integers(0, vocab_size, size=int(n)), None) for n in lengths]
        return seqs, f"{RANDOM_CALIB_COUNT} random sequences"
    if not isinstance(calib, (str, Path)):
        seqs = list(calib)
        return seqs, f"{len(seqs)} given sequences"
    if vocab is None:
        raise ConvertError("calibration text needs the vocabulary: pass --vocab VOCAB.txt "
                           "(or keep vocab.txt beside the model)")
    examples = data.read_examples(calib)
    if len(examples) > count:
        pick = rng.choice(len(examples), size=count, replace=False)
        examples = [examples[i] for i in sorted(pick)]
    tok = make_tokenizer(vocab, "hf")
    if case_types:
        if any(e.text_b is not None for e in examples):
            raise ConvertError(f"{calib}: the model reads case types, which are for one text; the calibration "
                               "text has pairs")
        seqs = [encode_cased(tok, e.text, max_seq_len) for e in examples]
    else:
        seqs = list(tok.encode_batch([e.pair for e in examples], max_len=max_seq_len))
    return seqs, f"{len(seqs)} sequences from {calib}"


# ---------------------------------------------------------------- convert

def count_parameters(ckpt: Checkpoint) -> int:
    """Float parameters of a checkpoint (a clustered embedding's index tensors are not parameters)."""
    return int(sum(v.size for k, v in ckpt.weights.items()
                   if not k.endswith(("word_embeddings.cluster", "word_embeddings.row"))))


def _prepare(model: str | Path | Checkpoint, config: str | Path | None, max_seq_len: int | None,
             extend_positions: int | None, trim_positions: bool, trust_pickle: bool) -> tuple[Checkpoint, int]:
    """The checkpoint, loaded and checked (everything the runtime cannot run exactly is refused here, before
    calibration), and the sequence length the blob is planned for."""
    from mcubert.conversion import checkpoint
    from mcubert.numerics import quantize

    ckpt = model if isinstance(model, Checkpoint) else load(model, config, trust_pickle=trust_pickle)
    if extend_positions:
        ckpt = checkpoint.extend_positions(ckpt, extend_positions)
    L = quantize.resolve_max_seq_len(max_seq_len, ckpt.shape.max_pos)
    if trim_positions and L <= ckpt.shape.max_pos:
        ckpt = checkpoint.trim_positions(ckpt, L)
    quantize.check_convertible(ckpt, L)
    return ckpt, L


def _vocabulary(model: str | Path | Checkpoint, ckpt: Checkpoint, vocab: str | Path | None,
                embed_vocab: bool) -> Path | None:
    if vocab is not None:
        if not Path(vocab).is_file():
            raise ConvertError(f"{vocab}: vocabulary file not found")
        return Path(vocab)
    found = None if isinstance(model, Checkpoint) else find_vocab(model, ckpt.config, ckpt.shape.vocab_size)
    if found is None and embed_vocab:
        log.warning("%s: no vocabulary found (no vocab.txt beside the model, none recorded in it): the blob has "
                    "none, so it cannot tokenize text; pass --vocab VOCAB.txt, or --no-vocab to leave it out",
                    ckpt.source)
    elif found is not None:
        log.info("vocabulary: %s", found)
    return found


def _packed_vocab(path: Path) -> bytes:
    from mcubert.formats.vocab import pack_vocab

    try:
        return pack_vocab(str(path))
    except (OSError, ValueError) as e:
        raise ConvertError(f"{path}: cannot pack the vocabulary ({e})") from None


def _tiles(schedule: Any, max_seq_len: int, q_group: int | None, ffn_tile: int | None,
           key_block: int | None) -> Any:
    from mcubert.planning import planner

    if not (q_group or ffn_tile or key_block):
        return None
    dt = planner.default_tiles(None, max_seq_len, schedule or planner.Schedule.TILED)  # type: ignore[arg-type]
    return planner.Tiles(q_group or dt.q_group, ffn_tile or dt.ffn_tile, key_block or dt.key_block)


def _schedule(name: Any) -> Any:
    from mcubert.planning import planner

    if name is None or isinstance(name, planner.Schedule):
        return name
    try:
        return planner.Schedule[str(name).upper()]
    except KeyError:
        raise ConvertError(f"unknown schedule '{name}' (naive, tiled, lean)") from None


DSP_TARGETS = ("m7", "m33dsp")  # targets of `convert(target=...)` that run the DSP kernels
WEIGHT_LAYOUTS = ("int8", "int16", "auto")


def _weights_layout(data: bytes, weights: str, target: str, flash: int | None) -> bytes:
    """The blob with the weight layout asked for (see `convert`)."""
    from mcubert.formats import blob, wide_weights
    from mcubert.planning import cost

    if weights not in WEIGHT_LAYOUTS:
        raise ConvertError(f"unknown weight layout {weights!r} (one of {', '.join(WEIGHT_LAYOUTS)})")
    if weights == "int8" or (weights == "auto" and target not in DSP_TARGETS):
        return data
    if weights == "auto" and flash is None:
        raise ConvertError("--weights auto needs a flash budget (--flash BYTES)")
    if cost.kernel_path(target) == "mve":  # the runtime refuses them there (-ENOTSUP); m55d runs the DSP kernels
        raise ConvertError(f"int16 weights are for the DSP kernels (targets {', '.join(DSP_TARGETS)}); "
                           f"the {target} kernels read int8 weights")
    try:
        wide = wide_weights.widen(data)
    except blob.BlobError as e:
        raise ConvertError(f"cannot store int16 weights: {e}") from None
    if weights == "auto" and len(wide) > flash:  # type: ignore[operator]
        log.info("int8 weights: with int16 weights the blob would take %d bytes, over the flash budget %d",
                 len(wide), flash)
        return data
    return wide


def convert(model: str | Path | Checkpoint, *, config: str | Path | None = None,
            calib: str | Path | Sequence[TokenSeq] | None = None, calib_count: int = 256, seed: int = 0,
            max_seq_len: int | None = None, schedule: str | None = None, sram: int | None = None,
            fast_ram: int | None = None, q_group: int | None = None, ffn_tile: int | None = None,
            key_block: int | None = None, vocab: str | Path | None = None, embed_vocab: bool = True,
            extend_positions: int | None = None, trim_positions: bool = False, arena_only: bool = False,
            target: str = "m7", trust_pickle: bool = False, weights: str = "int8", flash: int | None = None,
            progress: bool = False) -> ConvertedBlob:
    """Quantise a BERT checkpoint to an int8 blob.

    model: a Hugging Face directory, a torch.save file, a .safetensors file (with `config`), or a Checkpoint.
    calib: calibration text (.tsv or .txt; `calib_count` sentences sampled with `seed`), token-id sequences
        [(ids, type_ids or None), ...], or None for random ids (logged as a warning).
    max_seq_len: the longest sequence the blob is planned for (default min(128, the model's positions)).
    schedule, sram, fast_ram, q_group, ffn_tile, key_block: the memory plan (see planning.planner); `sram`
        budgets the whole RAM of `target` (arena + stack + statics) unless `arena_only`.
    vocab: WordPiece vocab.txt; by default the one beside the model or recorded in the checkpoint.
        The packed vocabulary goes into the blob unless embed_vocab is False; when none is found, a warning.
    extend_positions, trim_positions: grow the position table to N rows / cut it to max_seq_len rows.
    trust_pickle: allow a whole pickled model (a torch.save(model) file), which runs code from the file.
    weights: "int8"; "int16" (the encoder's weights pre-extended for the DSP kernels of the Cortex-M4/M7/M33:
        fewer instructions, one more byte of flash per weight; not for the Helium targets); "auto": int16 when
        `target` runs the DSP kernels and the blob then fits `flash` bytes, else int8.
    Raises ConvertError, CheckpointError, QuantError, DataError with one-line messages.
    """
    from mcubert import __version__
    from mcubert.numerics import quantize
    from mcubert.planning import planner

    ckpt, L = _prepare(model, config, max_seq_len, extend_positions, trim_positions, trust_pickle)
    voc = _vocabulary(model, ckpt, vocab, embed_vocab)
    seqs, calib_desc = _calibration(calib, voc, ckpt.shape.vocab_size, L, calib_count, seed, ckpt.case_types)
    absmax = quantize.calibrate(ckpt, seqs, progress=progress)
    meta = {"source": str(ckpt.source), "vocab": str(voc.resolve()) if voc else None,
            "lowercase": True, "calibration": calib_desc, "mcubert_version": __version__}
    sched = _schedule(schedule)
    try:
        data = quantize.quantize(ckpt, absmax, L, meta=meta, schedule=sched, budget=sram, region0=fast_ram,
                                 tiles=_tiles(sched, L, q_group, ffn_tile, key_block),
                                 vocab=_packed_vocab(voc) if voc and embed_vocab else None,
                                 arena_only=arena_only, target=target)
    except planner.NoPlanFits as e:
        raise ConvertError(str(e)) from None
    data = _weights_layout(data, weights, target, flash)
    return ConvertedBlob(data, count_parameters(ckpt), calib_desc, voc, bool(voc and embed_vocab))
