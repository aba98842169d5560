# SPDX-License-Identifier: Apache-2.0
"""Zephyr integration: model partitions in devicetree, and the build-time inputs of the samples.

`mcubert zephyr-overlay BLOB --board BOARD -o model.overlay` writes a devicetree overlay that
defines a fixed partition `mcubert_model_partition` (label "mcubert-model") sized to the blob
rounded up to whole erase sectors, and the chosen node `mcubert,model` pointing at it. The runtime
then uses the blob in place from memory-mapped flash: the partition's address is
`DT_REG_ADDR(<memory node>) + DT_REG_ADDR(partition)`. On boards with flash holding the
application at its start, the partition takes the last sectors and any board partition it
overlaps is deleted (or shrunk, when it starts below the model). On the QEMU boards the
partition lives in the 16 MiB PSRAM, which the ELF loader fills like flash.

`python -m mcubert.targets.zephyr sample-model ...` is what samples/sst2/CMakeLists.txt runs at configure
time: it converts (or takes) a model, packs its vocabulary for the on-device tokenizer, writes a
header with the label names and logit scale, and the overlay when the model goes to a partition.
Conversions are cached (see `cache_root()`), so Twister building many platforms converts once.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import shutil
import sys
from pathlib import Path
from typing import Any, Sequence

from mcubert.targets.flash_layout import (  # noqa: F401  (the layouts are part of this module's API)
    BOARDS,
    CHOSEN,
    PARTITION_LABEL,
    PARTITION_NAME,
    KiB,
    Layout,
    MiB,
    Partition,
    Placement,
    ZephyrError,
    blob_size,
    find_layout,
    generic_layout,
    overlay_for,
    place,
    render_overlay,
)

log = logging.getLogger(__name__)



ROOT = Path(__file__).resolve().parents[3]
SAMPLE_DIR = ROOT / "samples" / "sst2"




# ---------------------------------------------------------------- `mcubert zephyr-overlay`

def _int(text: str) -> int:
    t = text.strip().upper()
    mult = 1
    for suffix, m in (("KIB", KiB), ("MIB", MiB), ("K", KiB), ("M", MiB)):
        if t.endswith(suffix):
            t, mult = t[: -len(suffix)], m
            break
    try:
        return int(t, 0) * mult
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size or address: {text}") from None


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register `zephyr-overlay` on the mcubert command line's subparsers."""
    p = subparsers.add_parser(
        "zephyr-overlay", help="devicetree overlay with a flash partition sized for a blob",
        description="Write a devicetree overlay that defines the fixed partition mcubert_model_partition, sized "
                    "to BLOB rounded up to whole erase sectors (the last sectors of the application's flash, or "
                    "the PSRAM of the QEMU boards), and the chosen node mcubert,model. The runtime uses the blob "
                    "in place from there. Known boards: " + ", ".join(sorted(BOARDS)) + "; others with "
                    "--flash-node/--flash-base/--flash-size/--erase-size.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  mcubert zephyr-overlay model.mcub --board nucleo_f767zi -o model.overlay\n"
               "  west build -b nucleo_f767zi samples/sst2 -- -DMCUBERT_MODEL_BLOB=$PWD/model.mcub\n")
    p.add_argument("blob", help=".mcub blob")
    p.add_argument("--board", required=True, help="Zephyr board (e.g. nucleo_f767zi, mps2_an500)")
    p.add_argument("-o", "--output", help="overlay file to write (default: print it)")
    p.add_argument("--flash-node", help="devicetree label of the memory (for a board not in the table)")
    p.add_argument("--flash-base", type=_int, help="its address")
    p.add_argument("--flash-size", type=_int, help="its size (K/M suffixes)")
    p.add_argument("--erase-size", type=_int, help="its erase sector size (uniform)")
    p.add_argument("--place", choices=("end", "start"), default="end",
                   help="with --flash-node: the last sectors (default; the application is at the start) or the first")
    p.add_argument("--app-reserve", type=_int, default=128 * KiB,
                   help="least flash left for the application before the model (default 128K)")
    p.add_argument("--json", action="store_true", help="print the placement as JSON")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """`mcubert zephyr-overlay`: returns the exit status (errors: one line on stderr, 1)."""
    try:
        layout = None
        if args.flash_node:
            if args.flash_base is None or not args.flash_size or not args.erase_size:
                raise ZephyrError("--flash-node needs --flash-base, --flash-size and --erase-size")
            layout = generic_layout(args.board, args.flash_node, args.flash_base, args.flash_size, args.erase_size,
                                    args.place)
        text, p = overlay_for(args.blob, args.board, layout=layout, app_reserve=args.app_reserve)
        if args.output:
            try:
                Path(args.output).write_text(text)
            except OSError as e:
                raise ZephyrError(f"{args.output}: {e.strerror}") from None
    except ZephyrError as e:
        print(f"mcubert: error: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({**p.to_json(), "output": args.output}, indent=2, sort_keys=True))
    elif args.output:
        print(f"wrote {args.output}: {PARTITION_LABEL} {p.size:,} B ({p.sectors} sectors) at 0x{p.address:08x} "
              f"for a {p.blob_bytes:,} B blob" + (f"; deleted {', '.join(p.deleted)}" if p.deleted else "")
              + (f"; shrunk {', '.join(p.shrunk)}" if p.shrunk else ""))
    else:
        print(text, end="")
    return 0


# ---------------------------------------------------------------- sample models

# What samples/sst2 builds by default, per board: the whole BERT-tiny SST-2 model (4.5 MB) where it fits,
# the compressed one (or the vocabulary-truncated stand-in) on the 2 MB F767, a tiny random model on 256 KB.
MODEL_KINDS = ("sst2", "sst2-lite", "compressed", "tiny", "blob")
TINY_SHAPE = {"vocab": "tests/fixtures/vocab-small.txt", "hidden": 16, "layers": 1, "heads": 2, "ffn": 32,
              "labels": 2, "max_pos": 64}
LITE_VOCAB = 6144
LITE_MAX_POS = 128


def default_kind(board: str) -> str:
    b = board.split("/")[0]
    if b in ("qemu_cortex_m3",):
        return "tiny"
    if b == "nucleo_f767zi":
        return "compressed" if compressed_model() else "sst2-lite"
    return "sst2"


# The blobs samples/sst2 builds by default: made once with the tooling, checked in next to a sha256sum-format
# stamp (`<blob>.sha256`) of the blob and the files it was made from, so that a build needs no PyTorch and
# cmake/mcubert.cmake (mcubert_check_blob_sources) can tell a stale blob from its sources.
SHIPPED_BLOBS = {"compressed": SAMPLE_DIR / "compressed" / "model.mcub", "tiny": SAMPLE_DIR / "tiny" / "model.mcub"}


def shipped_blob(board: str) -> Path:
    """The checked-in blob samples/sst2 runs on a board by default (no conversion at build time)."""
    return SHIPPED_BLOBS["tiny" if board.split("/")[0] == "qemu_cortex_m3" else "compressed"]


def stamp_path(blob_path: str | Path) -> Path:
    return Path(str(blob_path) + ".sha256")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_stamp(blob_path: str | Path, sources: Sequence[str | Path]) -> Path:
    """Write `<blob>.sha256`: the sha256 of each source and of the blob, paths relative to the blob's folder
    (`sha256sum -c` checks it from there)."""
    blob_path = Path(blob_path).resolve()
    lines = []
    for src in [*sources, blob_path]:
        src = Path(src).resolve()
        if not src.is_file():
            raise ZephyrError(f"{src}: no such file")
        lines.append(f"{_sha256(src)}  {os.path.relpath(src, blob_path.parent)}")
    out = stamp_path(blob_path)
    out.write_text("\n".join(lines) + "\n")
    return out


def check_stamp(blob_path: str | Path) -> list[str]:
    """What no longer matches `<blob>.sha256` (empty: the blob is current with its sources)."""
    blob_path = Path(blob_path)
    stamp = stamp_path(blob_path)
    if not stamp.is_file():
        return [f"{stamp}: missing"]
    bad = []
    for line in stamp.read_text().splitlines():
        digest, _, rel = line.partition("  ")
        f = blob_path.parent / rel
        if not f.is_file():
            bad.append(f"{rel}: missing")
        elif _sha256(f) != digest:
            bad.append(f"{rel}: changed")
    return bad


def compressed_model() -> Path | None:
    d = SAMPLE_DIR / "compressed"
    for name in ("model.pt", "model.safetensors", "pytorch_model.bin"):
        if (d / name).is_file():
            return d / name
    if (d / "config.json").is_file():
        return d
    return None


def cache_root() -> Path:
    from mcubert.paths import cache_dir

    path = cache_dir() / "zephyr"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _hash_files(h: "hashlib._Hash", paths: Sequence[Path]) -> None:
    for p in paths:
        h.update(str(p.name).encode())
        if p.is_dir():
            _hash_files(h, sorted(q for q in p.iterdir() if q.is_file()))
        elif p.is_file():
            h.update(p.read_bytes())


def _converter_sources() -> list[Path]:
    pkg = Path(__file__).resolve().parents[1]
    return sorted(f for sub in ("formats", "numerics", "conversion", "planning") for f in (pkg / sub).glob("*.py"))


def _convert(model: Path, out: Path, *, calib: Path | None, vocab: Path, max_seq_len: int) -> None:
    from mcubert.conversion.api import ConvertError, convert
    from mcubert.conversion.checkpoint import CheckpointError
    from mcubert.numerics.quantize import QuantError
    from mcubert.training.data import DataError

    log.info("converting %s to %s (max_seq_len %d)", model, out, max_seq_len)
    try:
        convert(model, calib=calib, vocab=vocab, max_seq_len=max_seq_len).save(out)
    except (ConvertError, CheckpointError, QuantError, DataError) as e:
        raise ZephyrError(f"converting {model} failed: {e}") from None


def _lite_checkpoint(src: Path, dst: Path, n_vocab: int, max_pos: int) -> Path:
    """The SST-2 model with its vocabulary cut to the first n_vocab ids and its positions to max_pos.

    BERT's uncased vocabulary lists every single character, their "##" continuations and then words by
    frequency, so the first ids alone still spell every text (rarer words in more pieces). A stand-in that
    fits 2 MB of flash until the compressed model replaces it.
    """
    from safetensors.numpy import load_file, save_file

    dst.mkdir(parents=True, exist_ok=True)
    state = load_file(str(src / "model.safetensors"))
    for k in list(state):
        if k.endswith("word_embeddings.weight"):
            state[k] = state[k][:n_vocab].copy()
        elif k.endswith("position_embeddings.weight"):
            state[k] = state[k][:max_pos].copy()
        elif k.endswith("position_ids"):
            state[k] = state[k][..., :max_pos].copy()
    save_file(state, str(dst / "model.safetensors"))
    cfg = json.loads((src / "config.json").read_text())
    cfg.update(vocab_size=n_vocab, max_position_embeddings=max_pos)
    (dst / "config.json").write_text(json.dumps(cfg, indent=2))
    lines = (src / "vocab.txt").read_text(encoding="utf-8").split("\n")[:n_vocab]
    (dst / "vocab.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return dst


def _tiny_checkpoint(dst: Path, seed: int = 0) -> Path:
    """A random model of TINY_SHAPE (vocab: tests/fixtures/vocab-small.txt) for 256 KB boards and the tests."""
    from safetensors.numpy import save_file

    from mcubert.conversion.checkpoint import random_checkpoint

    vocab = ROOT / TINY_SHAPE["vocab"]
    n_vocab = len(vocab.read_text(encoding="utf-8").splitlines())
    ck = random_checkpoint(vocab_size=n_vocab, hidden=TINY_SHAPE["hidden"], n_layers=TINY_SHAPE["layers"],
                           n_heads=TINY_SHAPE["heads"], ffn=TINY_SHAPE["ffn"], n_labels=TINY_SHAPE["labels"],
                           max_pos=TINY_SHAPE["max_pos"], seed=seed)
    dst.mkdir(parents=True, exist_ok=True)
    save_file({k: v.astype("float32") for k, v in ck.weights.items()}, str(dst / "model.safetensors"))
    cfg = dict(ck.config)
    cfg.setdefault("architectures", ["BertForSequenceClassification"])
    cfg.setdefault("id2label", {"0": "negative", "1": "positive"})
    (dst / "config.json").write_text(json.dumps(cfg, indent=2, default=str))
    shutil.copyfile(vocab, dst / "vocab.txt")
    return dst


def prepare_model(kind: str, *, max_seq_len: int, blob: Path | None = None, vocab: Path | None = None,
                  calib: Path | None = None, lite_vocab: int = LITE_VOCAB) -> tuple[Path, Path, str]:
    """(blob, vocab.txt, description) for a model kind, converted once and cached."""
    calib = calib or SAMPLE_DIR / "calib.txt"
    if kind == "blob":
        if blob is None:
            raise ZephyrError("kind 'blob' needs a blob path")
        if vocab is None:
            from mcubert.formats import blob as blobmod

            meta_vocab = blobmod.unpack(Path(blob).read_bytes()).meta().get("vocab")
            recorded = meta_vocab and Path(meta_vocab).is_file()
            vocab = Path(meta_vocab) if recorded else SAMPLE_DIR / "model" / "vocab.txt"
        return Path(blob), Path(vocab), Path(blob).name
    if kind == "sst2":
        src, desc = SAMPLE_DIR / "model", "BERT-tiny SST-2 (samples/sst2/model)"
    elif kind == "sst2-lite":
        src, desc = SAMPLE_DIR / "model", f"BERT-tiny SST-2, vocabulary cut to {lite_vocab} (stand-in)"
    elif kind == "compressed":
        found = compressed_model()
        if found is None:
            raise ZephyrError("no compressed model in samples/sst2/compressed/ yet; use MCUBERT_SAMPLE_MODEL=sst2-lite")
        src, desc = found, f"compressed SST-2 ({found.relative_to(ROOT)})"
    elif kind == "tiny":
        src, desc = ROOT / TINY_SHAPE["vocab"], "tiny random model (test shape, labels meaningless)"
    else:
        raise ZephyrError(f"unknown model kind {kind!r} (one of {', '.join(MODEL_KINDS)})")

    h = hashlib.sha256(json.dumps([kind, max_seq_len, lite_vocab, LITE_MAX_POS, TINY_SHAPE]).encode())
    _hash_files(h, [src, calib, *_converter_sources()])
    if kind == "compressed":
        _hash_files(h, [src.parent / "vocab.txt"])
    key = h.hexdigest()[:16]
    cached = cache_root() / f"{kind}-{max_seq_len}-{key}"
    cached.mkdir(parents=True, exist_ok=True)
    with _locked(cached / ".lock"):
        if (cached / "done").is_file():
            log.info("using cached %s model %s", kind, cached)
            return cached / "model.mcub", cached / "vocab.txt", desc
        work = cached / "ckpt"
        shutil.rmtree(work, ignore_errors=True)
        if kind == "sst2":
            model_dir, vocab_txt = src, src / "vocab.txt"
        elif kind == "sst2-lite":
            model_dir = _lite_checkpoint(src, work, lite_vocab, LITE_MAX_POS)
            vocab_txt = model_dir / "vocab.txt"
        elif kind == "compressed":
            model_dir = src
            beside = (src if src.is_dir() else src.parent) / "vocab.txt"
            vocab_txt = beside if beside.is_file() else SAMPLE_DIR / "model" / "vocab.txt"
        else:
            model_dir = _tiny_checkpoint(work)
            vocab_txt = model_dir / "vocab.txt"
        shutil.copyfile(vocab_txt, cached / "vocab.txt")
        # The blob records the vocabulary path (META "vocab"): the cached copy, which stays.
        _convert(model_dir, cached / "model.mcub", calib=calib, vocab=cached / "vocab.txt", max_seq_len=max_seq_len)
        shutil.rmtree(work, ignore_errors=True)
        (cached / "done").write_text(desc + "\n")
    return cached / "model.mcub", cached / "vocab.txt", desc


class _locked:
    """An exclusive lock on a file (several builds may prepare the same model at once)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> "_locked":
        import fcntl

        self.fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o644)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        import fcntl

        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def _c_string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_model_info(blob_bytes: bytes, description: str, vocab_bytes: int, vocab_in_blob: bool = False) -> str:
    """model_info.h: what the sample prints about its model (names, scale), taken from the blob's META."""
    from mcubert.formats import blob as blobmod
    from mcubert.numerics import arith

    b = blobmod.unpack(blob_bytes)
    meta = b.meta()
    n = int(b.cfg.n_labels)
    labels = list(meta.get("labels") or [f"LABEL_{i}" for i in range(n)])[:n]
    scale = float(meta.get("logit_scale") or 1.0)
    mult, shift = arith.quantize_multiplier(scale, min_shift=1, max_shift=62)
    return "\n".join([
        "/*",
        " * SPDX-License-Identifier: Apache-2.0",
        " *",
        " * Generated by `python -m mcubert.targets.zephyr sample-model`: do not edit.",
        " */",
        "",
        "#ifndef MCUBERT_SAMPLE_MODEL_INFO_H_",
        "#define MCUBERT_SAMPLE_MODEL_INFO_H_",
        "",
        f"#define MODEL_DESCRIPTION {_c_string(description)}",
        f"#define MODEL_BLOB_BYTES {len(blob_bytes)}u",
        f"#define MODEL_VOCAB_BYTES {vocab_bytes}u",
        "/* 1: the tokenizer's packed vocabulary is the blob's own (mcubert_vocab()); 0: embedded apart */",
        f"#define MODEL_VOCAB_IN_BLOB {int(vocab_in_blob)}",
        f"#define MODEL_MAX_SEQ_LEN {int(b.cfg.max_seq_len)}",
        f"#define MODEL_ARENA_BYTES {int(b.arena_bytes)}u",
        f"#define MODEL_N_LABELS {n}",
        "#define MODEL_LABELS {" + ", ".join(_c_string(s) for s in labels) + "}",
        f"/* A logit in real units is q * {scale!r} = q * MODEL_LOGIT_MULT / 2^MODEL_LOGIT_SHIFT. */",
        f"#define MODEL_LOGIT_MULT {mult}",
        f"#define MODEL_LOGIT_SHIFT {shift}",
        "",
        "#endif /* MCUBERT_SAMPLE_MODEL_INFO_H_ */",
        "",
    ])


def blob_vocab(data: bytes) -> bytes | None:
    """The packed vocabulary section of a blob (`mcubert convert` stores one unless --no-vocab), or None."""
    from mcubert.formats import blob as blobmod

    sec = blobmod.unpack(data).sections.get(int(blobmod.Sec.VOCAB))
    return None if sec is None else bytes(sec)


def sample_model(out: Path, *, kind: str, board: str = "", max_seq_len: int = 64, blob: Path | None = None,
                 vocab: Path | None = None, calib: Path | None = None, partition: bool | str = False,
                 lite_vocab: int = LITE_VOCAB) -> dict[str, Any]:
    """Everything samples/sst2 needs at build time, written under `out`; returns what it wrote.

    partition: True, False or "auto" (a partition on the boards find_layout() knows). The packed
    vocabulary goes with the blob when the blob has one (then it lives wherever the blob lives and
    vocab.mcbv is not written); otherwise it is packed from vocab.txt for embedding in the image.
    """
    from mcubert.formats.vocab import pack_vocab

    if kind in ("", "auto"):
        kind = "blob" if blob else default_kind(board)
    if partition == "auto":
        partition = find_layout(board) is not None
    blob_path, vocab_txt, desc = prepare_model(kind, max_seq_len=max_seq_len, blob=blob, vocab=vocab, calib=calib,
                                               lite_vocab=lite_vocab)
    out.mkdir(parents=True, exist_ok=True)
    data = blob_path.read_bytes()
    in_blob = blob_vocab(data)
    if in_blob is not None and vocab is None:
        packed, vocab_file = in_blob, ""
        (out / "vocab.mcbv").unlink(missing_ok=True)
    else:
        packed, vocab_file = pack_vocab(vocab_txt), str(out / "vocab.mcbv")
        _write_if_changed(out / "vocab.mcbv", packed)
    _write_if_changed(out / "model.mcub", data)
    _write_if_changed(out / "model_info.h",
                      render_model_info(data, desc, len(packed), vocab_in_blob=not vocab_file).encode())
    result: dict[str, Any] = {"kind": kind, "description": desc, "blob": str(out / "model.mcub"),
                              "blob_bytes": len(data), "vocab_txt": str(vocab_txt), "vocab": vocab_file,
                              "vocab_bytes": len(packed), "vocab_in_blob": not vocab_file,
                              "info": str(out / "model_info.h"), "overlay": ""}
    if partition:
        text, p = overlay_for(out / "model.mcub", board)
        _write_if_changed(out / "model.overlay", text.encode())
        result["overlay"] = str(out / "model.overlay")
        result["placement"] = p.to_json()
    else:
        (out / "model.overlay").unlink(missing_ok=True)
    cmake = ["# SPDX-License-Identifier: Apache-2.0", "# Generated by `python -m mcubert.targets.zephyr sample-model`."]
    for k in ("kind", "description", "blob", "blob_bytes", "vocab_txt", "vocab", "vocab_bytes", "info", "overlay"):
        v = str(result[k]).replace("\\", "/").replace('"', "'")
        cmake.append(f'set(MCUBERT_SAMPLE_{k.upper()} "{v}")')
    _write_if_changed(out / "model.cmake", ("\n".join(cmake) + "\n").encode())
    return result


def _write_if_changed(path: Path, data: bytes) -> None:
    """Keep the timestamp of unchanged outputs so that the build does not redo work."""
    if path.is_file() and path.read_bytes() == data:
        return
    path.write_bytes(data)


# ---------------------------------------------------------------- python -m mcubert.targets.zephyr

def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m mcubert.targets.zephyr",
                                 description="Zephyr helpers: the overlay command and the samples' build-time inputs.")
    ap.add_argument("-v", "--verbose", action="store_true")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    add_parser(sub)
    p = sub.add_parser("sample-model", help="model, packed vocabulary, header and overlay for samples/sst2")
    p.add_argument("--out", required=True, type=Path, help="output directory (the build's mcubert/ directory)")
    p.add_argument("--kind", default="auto", choices=("auto", *MODEL_KINDS),
                   help="auto: blob if --blob, else by board (sst2; nucleo_f767zi: compressed or sst2-lite; "
                        "qemu_cortex_m3: tiny)")
    p.add_argument("--board", default="", help="Zephyr board (for auto and --partition)")
    p.add_argument("--blob", type=Path, help="use this .mcub")
    p.add_argument("--vocab", type=Path, help="vocab.txt of --blob (default: the one recorded in the blob)")
    p.add_argument("--calib", type=Path, help="calibration text (default samples/sst2/calib.txt)")
    p.add_argument("--max-seq-len", type=int, default=64)
    p.add_argument("--lite-vocab", type=int, default=LITE_VOCAB, help="vocabulary of the sst2-lite stand-in")
    p.add_argument("--partition", nargs="?", const="on", default="off", choices=("auto", "on", "off"),
                   help="also write model.overlay (a flash partition): on, off, or auto (on for the boards "
                        "zephyr-overlay knows)")

    def run_sample(a: argparse.Namespace) -> int:
        try:
            r = sample_model(a.out, kind=a.kind, board=a.board, max_seq_len=a.max_seq_len, blob=a.blob,
                             vocab=a.vocab, calib=a.calib,
                             partition="auto" if a.partition == "auto" else a.partition == "on",
                             lite_vocab=a.lite_vocab)
        except ZephyrError as e:
            print(f"mcubert: error: {e}", file=sys.stderr)
            return 1
        print(json.dumps(r, indent=2, sort_keys=True))
        return 0

    p.set_defaults(func=run_sample)

    st = sub.add_parser("stamp", help="record the sha256 of a blob and its sources in BLOB.sha256",
                        description="Write BLOB.sha256 (sha256sum format, paths relative to BLOB's folder): the "
                                    "files BLOB was converted from, then BLOB. cmake/mcubert.cmake "
                                    "(mcubert_check_blob_sources) and `sha256sum -c` check it; --check only checks.")
    st.add_argument("blob", type=Path)
    st.add_argument("sources", nargs="*", type=Path, help="the model, vocab.txt, calibration text ...")
    st.add_argument("--check", action="store_true", help="check the existing stamp instead of writing one")

    def run_stamp(a: argparse.Namespace) -> int:
        try:
            if a.check:
                bad = check_stamp(a.blob)
                for b in bad:
                    print(f"mcubert: {a.blob}: {b}", file=sys.stderr)
                return 1 if bad else 0
            print(f"wrote {write_stamp(a.blob, a.sources)}")
        except ZephyrError as e:
            print(f"mcubert: error: {e}", file=sys.stderr)
            return 1
        return 0

    st.set_defaults(func=run_stamp)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s: %(message)s",
                        stream=sys.stderr)
    if not getattr(args, "func", None):
        ap.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
