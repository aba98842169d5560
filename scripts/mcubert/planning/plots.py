# SPDX-License-Identifier: Apache-2.0
"""Pictures of memory plans: buffers over the forward pass, and peak RAM against sequence length."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mcubert.formats.blob import Config
from mcubert.planning.planner import Plan, lifetimes

STEP_NAMES = {
    "naive": ["embed", "Q,K,V", "scores", "softmax", "context", "out-proj", "res+LN", "FFN in", "FFN out",
              "res+LN", "pooler"],
    "tiled": ["embed", "K,V", "query groups", "FFN tiles", "", "", "", "", "", "", "pooler"],
    "lean": ["embed", "", "query groups\n(K,V recomputed)", "FFN tiles", "", "", "", "", "", "", "pooler"],
}


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_plan(plan: Plan, cfg: Config, path: str) -> None:
    """Each buffer as a box: x = the steps it lives (one encoder layer), y = its place in RAM; a legend
    names every buffer with its size, and the title gives the whole RAM figure on the plan's target."""
    plt = _plt()
    live = lifetimes(plan.schedule)
    steps = sorted({x for lo_hi in live.values() for x in lo_hi})  # only steps where something starts or ends
    col = {st: i for i, st in enumerate(steps)}
    regions = [r for r in (0, 1) if plan.region_bytes[r]]
    fig, axes = plt.subplots(1, len(regions), figsize=(9 * len(regions), 5), squeeze=False)
    cmap = plt.get_cmap("tab20")
    name = plan.schedule.name.lower()
    for ax, r in zip(axes[0], regions):
        handles = []
        for i, (b, size) in enumerate(sorted(plan.sizes.items())):
            if plan.regions[b] != r or size == 0:
                continue
            lo, hi = col[live[b][0]], col[live[b][1]]
            box = plt.Rectangle((lo - 0.45, plan.offsets[b] / 1024), hi - lo + 0.9, size / 1024,
                                facecolor=cmap(i % 20), edgecolor="black", linewidth=0.5, alpha=0.85,
                                label=f"{b.name} {size:,} B")
            ax.add_patch(box)
            handles.append(box)
            if size / max(plan.region_bytes[r], 1) > 0.03:
                ax.text((lo + hi) / 2, (plan.offsets[b] + size / 2) / 1024, b.name, ha="center", va="center",
                        fontsize=8)
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
        ax.set_xlim(-0.7, len(steps) - 0.3)
        ax.set_ylim(0, plan.region_bytes[r] / 1024 * 1.05)
        ax.set_xticks(range(len(steps)))
        ax.set_xticklabels([STEP_NAMES[name][st] for st in steps], rotation=30, ha="right", fontsize=8)
        ax.set_ylabel("offset (KiB)")
        ax.axhline(plan.region_bytes[r] / 1024, color="red", linewidth=1)
        title = f"{name}: L={plan.seq_len}, G={plan.tiles.q_group}, T={plan.tiles.ffn_tile}"
        if name == "lean":
            title += f", B={plan.tiles.key_block}"
        region_name = ("fast region" if r == 0 else "main region") if len(regions) > 1 else "arena"
        ram = plan.ram
        ax.set_title(f"{title}; {plan.macs / 1e6:,.1f} M MACs, ~{plan.instructions / 1e6:,.1f} M instructions "
                     f"on {plan.target}\n{region_name} {plan.region_bytes[r]:,} B (red line); RAM {plan.ram_total:,} B"
                     f" with stack {ram.stack:,} + statics {ram.statics:,} (one encoder layer shown)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_peak_vs_length(rows: Sequence[Mapping], path: str, title: str,
                        limits: Mapping[str, int] | None = None) -> None:
    """rows: {"schedule", "seq_len", "ram_total"}; one line per schedule, log-log."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for sched in ("naive", "tiled", "lean"):
        pts = sorted((r["seq_len"], r["ram_total"]) for r in rows if r["schedule"] == sched and r.get("ram_total"))
        if pts:
            ax.plot([p[0] for p in pts], [p[1] / 1024 for p in pts], marker="o", label=sched)
    for label, value in (limits or {}).items():
        ax.axhline(value / 1024, linestyle="--", linewidth=1, color="gray")
        ax.text(64, value / 1024 * 1.05, label, fontsize=8, color="gray")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("sequence length (tokens)")
    ax.set_ylabel("peak RAM (KiB): arena + stack + statics")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", linewidth=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
