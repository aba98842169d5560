# SPDX-License-Identifier: Apache-2.0
"""The memory planner: every activation buffer of a schedule, its size, lifetime and place in RAM.

This is the one source of truth for the runtime's memory: the plans it computes are written into the
blob (PLAN sections) and the C runtime takes each buffer's offset from there (after checking it fits).
The runtime's high-water mark is therefore exactly `Plan.arena_bytes` (a test runs it and compares).

Schedules (all give the same bits; docs/scheduling.md):

  naive  layer by layer: Q, K, V, the scores of all heads (L x L each), the probabilities, the context,
         the FFN intermediate (L x ffn) all materialised; buffers reused only where lifetimes allow
         (greedy, like TFLM's planner).
  tiled  K and V once per layer; queries in groups of G rows: Q, context and the output projection
         for one group at a time (scores one row at a time), the residual + LayerNorm written in place;
         the FFN on tiles of T tokens. Scores and probabilities for min(G, 4) query rows at a time (the
         DSP kernels' row block). Peak ~ 3 L d + 24 L + 5 G d.
  lean   like tiled, but K and V are never stored: each query group recomputes them per head in blocks of
         B keys (scores pass, then context pass). Peak ~ 2 L d + G (6 L + ...) at the cost of
         recomputing K and V L/G times.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from mcubert.formats import blob
from mcubert.formats.blob import Buf, Config, Schedule
from mcubert.planning import cost
from mcubert.planning.buffers import ATTN_ROWS, buffer_sizes, lifetimes, overlapping_live_buffers
from mcubert.planning.cost import Tiles

__all__ = ["ATTN_ROWS", "Budget", "NoPlanFits", "Plan", "Tiles", "buffer_sizes", "candidate_tiles", "choose",
           "default_tiles", "lifetimes", "make_plan", "plans_for_blob", "replan", "runtime_peak", "to_section"]


N_BUFS = len(Buf)
REGION_BIT = 31  # offsets carry their memory region in this bit


# Accesses per byte, roughly: which buffers deserve the fast region (DTCM) first.
HOTNESS = {Buf.S: 9, Buf.P: 9, Buf.ACC: 9, Buf.KB: 8, Buf.VB: 8, Buf.Q: 7, Buf.R_ATTN: 6, Buf.R_FFN: 6,
           Buf.F: 6, Buf.K: 5, Buf.V: 5, Buf.CTX: 4, Buf.H: 3, Buf.H2: 3, Buf.POOL: 1, Buf.LOGITS: 1}


@dataclasses.dataclass
class Plan:
    schedule: Schedule
    seq_len: int
    tiles: Tiles
    sizes: dict[Buf, int]
    offsets: dict[Buf, int]  # byte offset within its region
    regions: dict[Buf, int]  # 0 or 1
    region_bytes: tuple[int, int]  # high-water of each region
    macs: int  # multiply-accumulates per inference, recomputation included
    instructions: int  # the instruction model's count on `target` (planning/cost.py)
    target: str = cost.DEFAULT_TARGET

    @property
    def arena_bytes(self) -> int:
        return self.region_bytes[0] + self.region_bytes[1]

    @property
    def ram(self) -> cost.RamModel:
        """Stack, statics and scratch beside the arena on the plan's target."""
        return cost.ram_model(self.target)

    @property
    def ram_total(self) -> int:
        """The whole RAM figure, as `mcubert bench` reports it: arena + stack + statics (+ scratch)."""
        return self.arena_bytes + self.ram.total

    def placement(self) -> dict[Buf, tuple[int, int, int]]:
        """Each buffer's (region, offset, size), as buffers.overlapping_live_buffers() takes them."""
        return {b: (self.regions[b], off, self.sizes[b]) for b, off in self.offsets.items()}

    def to_json(self) -> dict:
        return {"schedule": self.schedule.name.lower(), "seq_len": self.seq_len,
                "q_group": self.tiles.q_group, "ffn_tile": self.tiles.ffn_tile, "key_block": self.tiles.key_block,
                "arena_bytes": self.arena_bytes, "region_bytes": list(self.region_bytes), "macs": self.macs,
                "instructions": self.instructions, "target": self.target, "ram_total": self.ram_total,
                "stack": self.ram.stack, "statics": self.ram.statics, "scratch": self.ram.scratch,
                "buffers": [{"name": b.name, "size": self.sizes[b], "offset": self.offsets[b],
                             "region": self.regions[b], "live": list(lifetimes(self.schedule)[b])}
                            for b in sorted(self.sizes)]}


@dataclasses.dataclass(frozen=True)
class Budget:
    """What a plan must fit: every region capped.

    sram: all the RAM (fast region included), which holds the arena and, unless arena_only, the target's
    stack, statics and scratch (charged to the main region); fast_ram: the fast region 0 inside it.
    """

    sram: int | None = None
    fast_ram: int | None = None
    arena_only: bool = False
    target: str = cost.DEFAULT_TARGET

    @property
    def overhead(self) -> int:
        return 0 if self.arena_only else cost.ram_model(self.target).total

    @property
    def main_cap(self) -> int | None:
        """Bytes the arena may use outside the fast region (the whole arena with one region); None: no cap."""
        return None if self.sram is None else self.sram - self.overhead - (self.fast_ram or 0)

    def fits(self, p: Plan) -> bool:
        cap = self.main_cap
        if self.fast_ram is None:
            return cap is None or p.arena_bytes <= cap
        return p.region_bytes[0] <= self.fast_ram and (cap is None or p.region_bytes[1] <= cap)

    def describe(self) -> str:
        parts = []
        if self.sram is not None:
            what = "of arena" if self.arena_only else f"of RAM ({self.overhead:,} B stack and statics on {self.target})"
            parts.append(f"{self.sram:,} B {what}")
        if self.fast_ram is not None:
            parts.append(f"{self.fast_ram:,} B of it fast")
        return ", ".join(parts) or "no budget"


def _first_fit(items: list[tuple[Buf, int, tuple[int, int]]]) -> tuple[dict[Buf, int], int]:
    """Greedy placement: largest first, lowest offset not overlapping a placed buffer live at the same time."""
    placed: list[tuple[int, int, tuple[int, int]]] = []
    offsets: dict[Buf, int] = {}
    for buf, size, live in sorted(items, key=lambda x: (-x[1], int(x[0]))):
        clashes = sorted((off, off + sz) for off, sz, lv in placed if lv[0] <= live[1] and live[0] <= lv[1])
        at = 0
        for lo, hi in clashes:
            if at + size <= lo:
                break
            at = max(at, hi)
        offsets[buf] = at
        placed.append((at, size, live))
    top = max((off + sz for off, sz, _ in placed), default=0)
    return offsets, top


def make_plan(cfg: Config, L: int, sched: Schedule, tiles: Tiles, region0: int | None = None,
              target: str = cost.DEFAULT_TARGET) -> Plan:
    """Place the buffers; with region0 (bytes), the hottest buffers that fit go to region 0 first."""
    sizes = buffer_sizes(cfg, L, sched, tiles)
    live = lifetimes(sched)
    regions = {b: 1 if region0 is not None else 0 for b in sizes}
    if region0 is not None:
        chosen: list[Buf] = []
        for b in sorted(sizes, key=lambda b: (-HOTNESS[b], sizes[b], int(b))):
            _, top = _first_fit([(x, sizes[x], live[x]) for x in chosen + [b]])
            if top <= region0:
                chosen.append(b)
        for b in chosen:
            regions[b] = 0
    offsets: dict[Buf, int] = {}
    tops = [0, 0]
    for r in (0, 1):
        offs, tops[r] = _first_fit([(b, sizes[b], live[b]) for b in sizes if regions[b] == r])
        offsets.update(offs)
    return Plan(sched, L, tiles, sizes, offsets, regions, (tops[0], tops[1]), cost.macs(cfg, L, sched, tiles),
                cost.instructions(cfg, L, sched, tiles, target), target)


def default_tiles(cfg: Config | None, L: int, sched: Schedule) -> Tiles:
    if sched == Schedule.NAIVE:
        return Tiles(L, L, L)
    if sched == Schedule.TILED:
        return Tiles(min(L, 4), min(L, 4), L)
    return Tiles(min(L, 8), min(L, 4), min(L, 32))  # lean exists to save memory: small groups


def candidate_tiles(cfg: Config, L: int, sched: Schedule) -> Iterable[Tiles]:
    if sched == Schedule.NAIVE:
        yield Tiles(L, L, L)
        return
    groups = sorted({min(L, g) for g in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096)})
    tiles_ffn = sorted({min(L, g) for g in (1, 4, 8, 16, 32)})
    blocks = sorted({min(L, g) for g in (16, 64, 256)}) if sched == Schedule.LEAN else [L]
    for g in groups:
        for t in tiles_ffn:
            for b in blocks:
                yield Tiles(g, t, b)


class NoPlanFits(ValueError):
    pass


def choose(cfg: Config, L: int, budget: int | None = None, schedule: Schedule | None = None,
           region0: int | None = None, *, arena_only: bool = False, target: str = cost.DEFAULT_TARGET) -> Plan:
    """The cheapest plan that fits: fewest modelled instructions on `target`, then the schedule order, then
    tiles up to the defaults, then the smallest arena.

    budget: all the RAM (`--sram`): arena + stack + statics of `target`, or the arena alone with arena_only;
    region0: the fast region's bytes inside it (`--fast-ram`). Raises NoPlanFits.
    """
    scheds = [schedule] if schedule is not None else [Schedule.TILED, Schedule.LEAN, Schedule.NAIVE]
    if budget is None and region0 is None:
        return make_plan(cfg, L, scheds[0], default_tiles(cfg, L, scheds[0]), target=target)
    limits = Budget(budget, region0, arena_only, target)
    best: tuple | None = None
    smallest: Plan | None = None
    for s in scheds:
        dt = default_tiles(cfg, L, s)
        for t in candidate_tiles(cfg, L, s):
            p = make_plan(cfg, L, s, t, region0, target)
            if smallest is None or p.arena_bytes < smallest.arena_bytes:
                smallest = p
            if not limits.fits(p):
                continue
            key = (p.instructions, scheds.index(s), -min(t.q_group, dt.q_group), -min(t.ffn_tile, dt.ffn_tile),
                   -min(t.key_block, dt.key_block), p.arena_bytes)
            if best is None or key < best[0]:
                best = (key, p)
    if best is None:
        assert smallest is not None
        raise NoPlanFits(f"no schedule fits {limits.describe()} for {L} tokens: the smallest plan "
                         f"({smallest.schedule.name.lower()}, G={smallest.tiles.q_group}) needs "
                         f"{smallest.arena_bytes:,} bytes of arena" + _regions_of(smallest, limits))
    return best[1]


def _regions_of(p: Plan, limits: Budget) -> str:
    r = f" ({p.region_bytes[0]:,} fast + {p.region_bytes[1]:,} main)" if limits.fast_ram is not None else ""
    return r + ("" if limits.arena_only else f" + {limits.overhead:,} of stack and statics")


def to_section(plan: Plan) -> bytes:
    """The PLAN section of @plan; it never holds two live buffers that overlap (the runtime refuses those)."""
    clash = overlapping_live_buffers(plan.schedule, plan.placement())
    assert not clash, f"the planner overlapped live buffers {clash}"
    offs = [blob.PLAN_NONE] * blob.N_PLAN_BUFFERS
    for b, off in plan.offsets.items():
        offs[int(b)] = off | (plan.regions[b] << REGION_BIT)
    t = plan.tiles
    return blob.pack_plan(int(plan.schedule), plan.seq_len, t.q_group, t.ffn_tile, t.key_block,
                          plan.region_bytes, offs)


def plans_for_blob(cfg: Config, *, schedule: Schedule | None = None, budget: int | None = None,
                   region0: int | None = None, tiles: Tiles | None = None, arena_only: bool = False,
                   target: str = cost.DEFAULT_TARGET) -> tuple[Plan, dict[int, bytes]]:
    """The default plan (chosen, or as asked) and the PLAN sections of all three schedules.

    budget, region0, arena_only and target as for choose()."""
    L = cfg.max_seq_len
    if tiles is not None:
        chosen = make_plan(cfg, L, schedule if schedule is not None else Schedule.TILED, tiles, region0, target)
        limits = Budget(budget, region0, arena_only, target)
        if not limits.fits(chosen):
            raise NoPlanFits(f"the requested tiles need {chosen.arena_bytes:,} bytes of arena"
                             f"{_regions_of(chosen, limits)}, over {limits.describe()}")
    elif budget is None and region0 is None:
        s = schedule if schedule is not None else Schedule.TILED
        chosen = make_plan(cfg, L, s, default_tiles(cfg, L, s), target=target)
    else:
        chosen = choose(cfg, L, budget, schedule, region0, arena_only=arena_only, target=target)
    if chosen.arena_bytes >= 2**31:
        raise NoPlanFits(f"the {chosen.schedule.name.lower()} plan needs {chosen.arena_bytes:,} bytes")
    sections = {}
    for s in Schedule:
        p = chosen if s == chosen.schedule else make_plan(cfg, L, s, default_tiles(cfg, L, s), region0)
        if p.arena_bytes < 2**31:  # naive plans of long sequences do not fit the format (nor any MCU)
            sections[int(blob.PLAN_SECTIONS[s])] = to_section(p)
    return chosen, sections


def runtime_peak(cfg: Config, plan: dict, seq_len: int) -> int:
    """The arena high-water mark the runtime reports after running seq_len tokens with a blob's plan."""
    t = Tiles(plan["q_group"], plan["ffn_tile"], plan["key_block"])
    sizes = buffer_sizes(cfg, seq_len, Schedule(plan["schedule"]), t)
    top = [0, 0]
    for b, size in sizes.items():
        off = plan["offsets"][int(b)]
        r = off >> REGION_BIT
        top[r] = max(top[r], (off & ~(1 << REGION_BIT)) + size)
    return top[0] + top[1]


def replan(data: bytes, *, seq_len: int | None = None, schedule: Schedule | None = None,
           budget: int | None = None, region0: int | None = None, tiles: Tiles | None = None,
           arena_only: bool = False, target: str = cost.DEFAULT_TARGET) -> bytes:
    """The same blob with new memory plans (and optionally a new max_seq_len); budgets as for choose()."""
    b = blob.unpack(data)
    cfg = dataclasses.replace(b.cfg, max_seq_len=seq_len or b.cfg.max_seq_len)
    try:
        cfg.validate()
    except blob.BlobError as e:
        raise NoPlanFits(str(e)) from None
    chosen, secs = plans_for_blob(cfg, schedule=schedule, budget=budget, region0=region0, tiles=tiles,
                                  arena_only=arena_only, target=target)
    plan_ids = {int(s) for s in blob.PLAN_SECTIONS.values()}
    sections = {k: bytes(v) for k, v in b.sections.items() if k not in plan_ids}
    sections.update(secs)
    return blob.pack(cfg, sections, schedule=chosen.schedule)
