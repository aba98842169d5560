# SPDX-License-Identifier: Apache-2.0
"""Flash layouts of the boards mcubert knows, where a blob's partition goes in them, and the devicetree
overlay that declares it (`mcubert zephyr-overlay`; see targets/zephyr.py)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

KiB = 1024
MiB = 1024 * 1024

PARTITION_LABEL = "mcubert_model_partition"
PARTITION_NAME = "mcubert-model"
CHOSEN = "mcubert,model"


class ZephyrError(ValueError):
    """A user-facing failure of the Zephyr helpers (no partition fits, unknown board, ...)."""


# ---------------------------------------------------------------- flash layouts

@dataclasses.dataclass(frozen=True)
class Partition:
    """A partition the board's own devicetree defines in the same memory."""

    label: str
    offset: int
    size: int


@dataclasses.dataclass(frozen=True)
class Layout:
    """Where a board can keep a model partition.

    node: devicetree label of the memory-mapped memory (flash, or PSRAM on QEMU) holding it;
    sectors: (count, bytes) runs of erase sectors from offset 0; place: "end" puts the model in the
    last sectors (the application image starts at offset 0 of the same flash), "start" at offset 0
    (a memory of its own); partitions: the board's partitions in that node; has_partitions: whether
    the node already has a fixed-partitions child.
    """

    board: str
    node: str
    base: int
    size: int
    sectors: tuple[tuple[int, int], ...]
    place: str = "end"
    partitions: tuple[Partition, ...] = ()
    has_partitions: bool = False
    note: str = ""
    code_partition: str = ""  # the partition the board's chosen zephyr,code-partition names, if any
    declare: bool = False  # the board's devicetree lacks the node: the overlay declares it (memory@base)

    def sector_list(self) -> list[tuple[int, int]]:
        """(offset, size) of every erase sector."""
        out, off = [], 0
        for count, size in self.sectors:
            for _ in range(count):
                out.append((off, size))
                off += size
        if off != self.size:
            raise ZephyrError(f"{self.board}: sector layout covers {off} bytes, not {self.size}")
        return out


BOARDS: dict[str, Layout] = {
    # RM0410 3.3.1: in single-bank mode (the default, nDBANK=1) the 2 MiB are 4 x 32 KiB, 1 x 128 KiB and
    # 7 x 256 KiB sectors. The partitions are those of boards/st/nucleo_f767zi/nucleo_f767zi.dts (v4.0).
    "nucleo_f767zi": Layout(
        board="nucleo_f767zi", node="flash0", base=0x08000000, size=2 * MiB,
        sectors=((4, 32 * KiB), (1, 128 * KiB), (7, 256 * KiB)), place="end", has_partitions=True,
        partitions=(Partition("boot_partition", 0x0, 64 * KiB), Partition("storage_partition", 0x10000, 64 * KiB),
                    Partition("slot0_partition", 0x40000, 768 * KiB),
                    Partition("slot1_partition", 0x100000, 768 * KiB),
                    Partition("scratch_partition", 0x1C0000, 256 * KiB)),
        note="STM32F767ZI single-bank flash; the application starts at 0x08000000",
        code_partition="slot0_partition"),
    # boards/mcubert/mps2_an500 (this module): 16 MiB PSRAM that QEMU's ELF loader fills.
    "mps2_an500": Layout(
        board="mps2_an500", node="psram", base=0x60000000, size=16 * MiB, sectors=((4096, 4 * KiB),),
        place="start", note="QEMU mps2-an500 PSRAM (the image is in the 4 MiB SSRAM at 0)"),
    # boards/arm/mps2 (Zephyr v4.0), mps2_an521-common.dtsi: psram: memory@80000000.
    "mps2/an521/cpu0": Layout(
        board="mps2/an521/cpu0", node="psram", base=0x80000000, size=16 * MiB, sectors=((4096, 4 * KiB),),
        place="start", note="QEMU mps2-an521 PSRAM (the image is in the 4 MiB SSRAM at 0x10000000)"),
    # boards/arm/mps3 (Zephyr v4.0), mps3_corstone300_an547.dts: the image runs from the 512 KiB ITCM, too small
    # for the compressed SST-2 model; QEMU's mps3-an547 has DDR at 0x60000000 (secure alias 0x70000000, the
    # one the Secure image uses), which its ELF loader fills. The board's devicetree has no node for it.
    "mps3/corstone300/an547": Layout(
        board="mps3/corstone300/an547", node="ddr", base=0x70000000, size=16 * MiB, sectors=((4096, 4 * KiB),),
        place="start", declare=True,
        note="QEMU mps3-an547 DDR, secure alias (the image is in the 512 KiB ITCM at 0x10000000)"),
}
BOARDS["mps2_an521_cpu0"] = BOARDS["mps2/an521/cpu0"]
BOARDS["mps3_corstone300_an547"] = BOARDS["mps3/corstone300/an547"]


def find_layout(board: str) -> Layout | None:
    """The layout of a board, given as Zephyr names it (qualifiers such as /stm32f767xx allowed)."""
    if board in BOARDS:
        return BOARDS[board]
    base = board.split("/")[0]
    if base in BOARDS and base != "mps2":
        return BOARDS[base]
    return None


def generic_layout(board: str, node: str, base: int, size: int, erase: int, place: str) -> Layout:
    if size <= 0 or erase <= 0 or size % erase:
        raise ZephyrError(f"--flash-size ({size}) must be a positive multiple of --erase-size ({erase})")
    return Layout(board=board, node=node, base=base, size=size, sectors=((size // erase, erase),), place=place,
                  has_partitions=False)


@dataclasses.dataclass
class Placement:
    board: str
    node: str
    base: int
    offset: int
    size: int
    blob_bytes: int
    sectors: int
    deleted: list[str]
    shrunk: dict[str, int]

    @property
    def address(self) -> int:
        return self.base + self.offset

    def to_json(self) -> dict[str, Any]:
        return {"board": self.board, "node": self.node, "address": self.address, "offset": self.offset,
                "size": self.size, "blob_bytes": self.blob_bytes, "sectors": self.sectors,
                "deleted": self.deleted, "shrunk": self.shrunk}


def place(layout: Layout, blob_bytes: int, *, app_reserve: int = 128 * KiB) -> Placement:
    """Choose whole erase sectors for a blob of blob_bytes (last sectors, or first for "start")."""
    if blob_bytes <= 0:
        raise ZephyrError("the blob is empty")
    sectors = layout.sector_list()
    order = list(reversed(sectors)) if layout.place == "end" else sectors
    total, used = 0, []
    for sec in order:
        if total >= blob_bytes:
            break
        used.append(sec)
        total += sec[1]
    if total < blob_bytes:
        raise ZephyrError(f"a {blob_bytes:,} B model does not fit the {layout.size // KiB} KiB of {layout.board}'s "
                          f"{layout.node}; use a smaller (compressed) model")
    offset = min(off for off, _ in used)
    if layout.place == "end" and offset < app_reserve:
        raise ZephyrError(f"a {blob_bytes:,} B model leaves {offset // KiB} KiB of {layout.board}'s "
                          f"{layout.size // KiB} KiB flash for the application (at least {app_reserve // KiB} KiB "
                          f"needed); use a smaller (compressed) model")
    deleted, shrunk = [], {}
    end = offset + total
    for p in layout.partitions:
        if p.offset + p.size <= offset or p.offset >= end:
            continue
        if p.offset < offset:
            shrunk[p.label] = offset - p.offset
        else:
            deleted.append(p.label)
    return Placement(board=layout.board, node=layout.node, base=layout.base, offset=offset, size=total,
                     blob_bytes=blob_bytes, sectors=len(used), deleted=deleted, shrunk=shrunk)


def render_overlay(p: Placement, layout: Layout, source: str = "") -> str:
    """The devicetree overlay text for a placement."""
    lines = [
        "/*",
        " * SPDX-License-Identifier: Apache-2.0",
        " *",
        f" * Generated by `mcubert zephyr-overlay` for {p.board}: do not edit.",
    ]
    if source:
        lines.append(f" * Model: {source} ({p.blob_bytes:,} bytes).")
    lines += [
        f" * Partition {PARTITION_LABEL} (\"{PARTITION_NAME}\"): {p.sectors} erase sector(s), "
        f"{p.size:,} bytes at offset 0x{p.offset:x} of &{p.node}, address 0x{p.address:08x}.",
    ]
    if layout.note:
        lines.append(f" * {layout.note}.")
    if p.deleted or p.shrunk:
        lines.append(" * Board partitions it overlaps: "
                     + ", ".join([f"{d} deleted" for d in p.deleted]
                                 + [f"{k} shrunk to {v // KiB} KiB" for k, v in p.shrunk.items()]) + ".")
    lines += [" */", ""]
    for label in p.deleted:
        lines.append(f"/delete-node/ &{label};")
    if p.deleted:
        lines.append("")
    chosen = ["/ {", "\tchosen {", f"\t\t{CHOSEN} = &{PARTITION_LABEL};"]
    if layout.declare:
        chosen[1:1] = [f"\t{p.node}: memory@{layout.base:x} {{", '\t\tdevice_type = "memory";',
                       f"\t\treg = <0x{layout.base:x} 0x{layout.size:x}>;", "\t};", ""]
    if layout.code_partition and layout.code_partition in p.deleted:
        # the application links from the start of flash (no MCUboot: there is no room for its slots);
        # the build checks that it ends below the model partition
        chosen.append("\t\t/delete-property/ zephyr,code-partition;")
    lines += chosen + ["\t};", "};", ""]
    for label, size in p.shrunk.items():
        off = next(q.offset for q in layout.partitions if q.label == label)
        lines += [f"&{label} {{", f"\treg = <0x{off:x} 0x{size:x}>;", "};", ""]
    lines += [f"&{p.node} {{", "\tpartitions {"]
    if not layout.has_partitions:
        lines += ['\t\tcompatible = "fixed-partitions";', "\t\t#address-cells = <1>;", "\t\t#size-cells = <1>;", ""]
    lines += [
        f"\t\t{PARTITION_LABEL}: partition@{p.offset:x} {{",
        f'\t\t\tlabel = "{PARTITION_NAME}";',
        f"\t\t\treg = <0x{p.offset:x} 0x{p.size:x}>;",
        "\t\t\tread-only;",
        "\t\t};",
        "\t};",
        "};",
        "",
    ]
    return "\n".join(lines)


def blob_size(path: str | Path) -> int:
    from mcubert.formats import blob

    try:
        return len(blob.read_file(path))
    except blob.BlobError as e:
        raise ZephyrError(str(e)) from None


def overlay_for(blob_path: str | Path, board: str, *, layout: Layout | None = None,
                app_reserve: int = 128 * KiB) -> tuple[str, Placement]:
    layout = layout or find_layout(board)
    if layout is None:
        raise ZephyrError(f"no flash layout known for board {board} (known: {', '.join(sorted(BOARDS))}); "
                          "describe it with --flash-node, --flash-base, --flash-size and --erase-size")
    p = place(layout, blob_size(blob_path), app_reserve=app_reserve)
    return render_overlay(p, layout, source=Path(blob_path).name), p
