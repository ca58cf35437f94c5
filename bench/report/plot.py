#!/usr/bin/python3
"""Draws `nestwalk bench --json` output: ns per walk for the fast walker, its
probe (the walk of a TLB fill), the reference walker and the pointer-chain floor
of the same depth, hot and large layouts side by side.
Usage: plot.py BENCH_JSON OUT_DIR (writes walks.png, walks.svg)."""
import json
import pathlib
import sys

import matplotlib

matplotlib.use("Agg")
matplotlib.rcParams["svg.hashsalt"] = "nestwalk"  # the same data gives the same SVG
import matplotlib.pyplot as plt  # noqa: E402


def main():
    data = json.loads(pathlib.Path(sys.argv[1]).read_text())
    out = pathlib.Path(sys.argv[2])
    layouts = ["hot", "large"]
    fig, axes = plt.subplots(1, 2, figsize=(14, 6), gridspec_kw={"width_ratios": [12, 5]})
    for ax, layout in zip(axes, layouts):
        walks = [w for w in data["walks"] if w["layout"] == layout]
        x = range(len(walks))
        width = 0.21
        ax.bar([i - 1.5 * width for i in x], [w["floor_ns"] for w in walks], width,
               label="pointer-chain floor (same depth)", color="#999999")
        ax.bar([i - 0.5 * width for i in x], [w.get("probe_ns", 0) for w in walks], width, label="probe (TLB fill)",
               color="#2ca02c")  # absent from reports written before the probe
        ax.bar([i + 0.5 * width for i in x], [w["fast_ns"] for w in walks], width, label="fast walker",
               color="#1f77b4")
        ax.bar([i + 1.5 * width for i in x], [w["reference_ns"] for w in walks], width, label="reference walker",
               color="#ff7f0e")
        for i, w in enumerate(walks):
            probe = f'{w["probe_floor_ratio"]:.2f}x\n' if "probe_ns" in w else ""
            ax.annotate(f'{probe}{w["floor_ratio"]:.2f}x\n{w["speedup"]:.1f}x', (i, w["fast_ns"]), ha="center",
                        va="bottom", fontsize=6)
        ax.set_xticks(list(x))
        ax.set_xticklabels([f'{w["name"]}\n{w["refs"]} refs' for w in walks], rotation=45, ha="right", fontsize=8)
        ax.set_yscale("log")
        ax.set_ylabel("ns per walk (log)")
        pages = walks[0]["pages"] if walks else 0
        ax.set_title(f"{layout} layout ({pages} pages)")
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=8, loc="upper left")
    fig.suptitle("nestwalk: ns per walk; labels: probe / floor, fast / floor, speed-up of fast over reference")
    fig.tight_layout()
    fig.savefig(out / "walks.png", dpi=110, metadata={"Software": None})
    fig.savefig(out / "walks.svg", metadata={"Date": None})
    print(f"plots: {out / 'walks.png'}, {out / 'walks.svg'}")


if __name__ == "__main__":
    main()
