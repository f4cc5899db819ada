"""Join `infer.py compare` runs that measured different methods on overlapping photos into one table.

The 1,000-step baseline on the 200 test cats was measured once on a GPU (bench/results/compare-afhq200.json);
a later run on a CPU measures new methods on the same photos (or a subset). Photos are matched by file name
(less its extension), every method is restricted to the photos all runs share, and the means and medians are
recomputed from the per-image metrics; the table is printed in the README's format. Each method keeps its run's
mean curve (over that run's photos, which are the shared ones when the runs cover the same photos) and, for
tuned methods, the drift of random samples' renders (over the shared photos where each photo's drift was
recorded). `--figure` draws every method's LPIPS against steps on one axis (seconds are left out: runs on
different machines share no clock; `--seconds` draws them too, for runs made one after another on one machine).

    python bench/join_compare.py bench/results/compare-afhq200.json compare-test200/summary.json \
        --out bench/results/compare-test200.json --figure bench/results/compare-test200-curve.png
"""
import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inversion.metrics import summarize  # noqa: E402
from latentcat.figures import curves  # noqa: E402
from latentcat.files import write_json  # noqa: E402
from latentcat.jobs.compare import METRICS, curves_figure  # noqa: E402


def per_photo(summary: dict) -> dict[str, dict]:
    """Photo name (without its extension: one run may read PNG copies of another's JPEGs) -> {method: {metrics...,
    seconds}}."""
    return {Path(item["input"]).stem: {m: {**values, "seconds": item["seconds"][m]}
                                       for m, values in item["metrics"].items()}
            for item in summary["items"]}


def join(summaries: list[dict]) -> dict:
    runs = [per_photo(s) for s in summaries]
    shared = sorted(set.intersection(*(set(r) for r in runs)))
    methods: dict[str, dict] = {}
    for summary, run in zip(summaries, runs):
        for method in summary["methods"]:
            rows = [run[name][method] for name in shared]
            methods[method] = {key: summarize([r[key] for r in rows]) for key in (*METRICS, "seconds", "drift_lpips")
                               if rows and key in rows[0]}
            methods[method].update(lpips_net=rows[0]["lpips_net"] if rows else None,
                                   steps=summary["methods"][method]["steps"],
                                   tune_steps=summary["methods"][method].get("tune_steps", 0),
                                   run=summary.get("argv") or summary.get("command"),
                                   **{key: summary["methods"][method][key] for key in ("curve", "drift_lpips")
                                      if key in summary["methods"][method] and key not in methods[method]})
    return {"photos": shared, "methods": methods}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("summaries", nargs="+", help="compare summary.json files (a later one's methods win)")
    parser.add_argument("--out", required=True, help="joined JSON")
    parser.add_argument("--figure", help="PNG of every method's LPIPS against steps")
    parser.add_argument("--seconds", action="store_true",
                        help="the runs were made on one machine: the figure also draws LPIPS and PSNR against seconds")
    args = parser.parse_args()
    joined = join([json.loads(Path(p).read_text()) for p in args.summaries])
    write_json(args.out, joined)
    if args.figure and args.seconds:
        methods = {m: {**v, "seconds_per_image": v["seconds"]["mean"]} for m, v in joined["methods"].items()}
        curves_figure(methods, next(iter(methods.values()))["lpips_net"]).save(args.figure)
    elif args.figure:
        series = {m: (v["curve"]["step"], v["curve"]["lpips"]) if "curve" in v else ([0], [v["lpips"]["mean"]])
                  for m, v in joined["methods"].items()}
        net = next(iter(joined["methods"].values()))["lpips_net"]
        curves(series, "steps (latent + tuning)", f"LPIPS ({net})", f"{len(joined['photos'])} photos").save(
            args.figure)
    print(f"{len(joined['photos'])} photos in every run")
    print("| method | steps + tuning steps | MSE | PSNR dB | SSIM | LPIPS mean (median) | s / image | drift |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for method, m in joined["methods"].items():
        drift = f"{m['drift_lpips']['mean']:.3f}" if "drift_lpips" in m else ""
        print(f"| {method} | {m['steps']} + {m['tune_steps']} | {m['mse']['mean']:.4f} | {m['psnr']['mean']:.2f} | "
              f"{m['ssim']['mean']:.3f} | {m['lpips']['mean']:.3f} ({m['lpips']['median']:.3f}) | "
              f"{m['seconds']['mean']:.2f} | {drift} |")


if __name__ == "__main__":
    main()
