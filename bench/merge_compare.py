"""Merge `infer.py compare` runs made on disjoint shards of one image set into one result and table.

A 1,000-step baseline on 200 photos takes hours on a CPU; running one `compare` process per shard uses every
core (or machine). The means and medians are recomputed from the per-image metrics, the metric-vs-step curves
are averaged with each shard's image count as weight, and the table is printed in the README's format.

    python bench/merge_compare.py part1/summary.json part2/summary.json --out bench/results/compare-afhq200.json \
        --curve bench/results/compare-afhq200-curve.png --grid bench/results/compare-afhq200-grid.png
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inversion.metrics import summarize  # noqa: E402
from latentcat.figures import curves  # noqa: E402
from latentcat.files import atomic_path, write_json  # noqa: E402
from latentcat.images import save_png  # noqa: E402
from latentcat.jobs.compare import METHODS, METRICS  # noqa: E402

CURVE_LABELS = {"hybrid": "hybrid (encoder start)", "baseline": "baseline (mean start)"}


def merge(summaries: list[dict]) -> dict:
    first = summaries[0]
    for other in summaries[1:]:
        for key in ("settings", "generator"):
            if {k: v for k, v in other[key].items() if k != "batch_size"} != \
                    {k: v for k, v in first[key].items() if k != "batch_size"}:
                raise SystemExit(f"error: the shards differ in their {key}: they are not one experiment")
    items = [item for s in summaries for item in s["items"]]
    methods = {}
    for m in METHODS:
        methods[m] = {key: summarize([it["metrics"][m][key] for it in items]) for key in METRICS}
        methods[m]["lpips_net"] = first["methods"][m]["lpips_net"]
        methods[m]["seconds_per_image"] = float(np.mean([it["seconds"][m] for it in items]))
        methods[m].update({k: first["methods"][m][k] for k in ("steps", "lr") if k in first["methods"][m]})
        curves = [(s["methods"][m]["curve"], len(s["items"])) for s in summaries if "curve" in s["methods"][m]]
        if curves:
            weights = np.array([n for _, n in curves], dtype=float)
            values = np.array([c["lpips"] for c, _ in curves])
            methods[m]["curve"] = {"step": curves[0][0]["step"],
                                   "lpips": (weights @ values / weights.sum()).tolist()}
    return {"command": "compare (merged shards)", "shards": [s["argv"] for s in summaries],
            "settings": first["settings"], "generator": first["generator"], "images": len(items),
            "methods": methods, "items": items, "errors": [e for s in summaries for e in s["errors"]],
            "environment": first["environment"]}


def table(merged: dict, device: str) -> str:
    net = merged["methods"]["encoder"]["lpips_net"]
    lines = [f"| method | steps | MSE | PSNR (dB) | SSIM | LPIPS ({net}) | seconds per image ({device}) |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for m in METHODS:
        r = merged["methods"][m]
        lines.append(f"| {m} | {r['steps']} | {r['mse']['mean']:.4f} | {r['psnr']['mean']:.2f} | "
                     f"{r['ssim']['mean']:.3f} | {r['lpips']['mean']:.3f} (median {r['lpips']['median']:.3f}) | "
                     f"{r['seconds_per_image']:.2f} |")
    return "\n".join(lines)


def crop_grid(src: Path, dest: Path, rows: int, cell: int) -> None:
    """The first `rows` rows of a compare grid (cells of `cell` px plus 2 px padding)."""
    with Image.open(src) as img:
        crop = img.crop((0, 0, img.width, min(img.height, 2 + rows * (cell + 2))))
        with atomic_path(dest) as tmp:
            crop.save(tmp, format="PNG")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("summaries", nargs="+", type=Path, help="summary.json of each shard's compare run")
    parser.add_argument("--out", required=True, type=Path, help="merged JSON file")
    parser.add_argument("--curve", type=Path, help="write the merged metric-vs-step plot here")
    parser.add_argument("--grid", type=Path, help="write the first --grid-rows rows of shard 1's grid here")
    parser.add_argument("--grid-rows", type=int, default=8, help="rows in --grid")
    parser.add_argument("--device", default="CPU", help="hardware named in the table's time column")
    args = parser.parse_args()
    summaries = [json.loads(p.read_text()) for p in args.summaries]
    merged = merge(summaries)
    write_json(args.out, merged)
    if args.curve:
        series = {CURVE_LABELS[m]: (merged["methods"][m]["curve"]["step"], merged["methods"][m]["curve"]["lpips"])
                  for m in CURVE_LABELS if "curve" in merged["methods"][m]}
        save_png(args.curve, curves(series, "optimisation step",
                                    f"LPIPS ({merged['methods']['hybrid']['lpips_net']}), mean over "
                                    f"{merged['images']} images", "hybrid vs baseline: quality against steps"))
    if args.grid:
        crop_grid(args.summaries[0].parent / "comparison.png", args.grid, args.grid_rows,
                  merged["generator"]["resolution"])
    print(f"{merged['images']} images, {len(merged['errors'])} errors\n" + table(merged, args.device))


if __name__ == "__main__":
    main()
