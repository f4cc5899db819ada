"""Join `infer.py compare` runs that measured different methods on overlapping photos into one table.

The 1,000-step baseline on the 200 test cats was measured once on a GPU (bench/results/compare-afhq200.json);
a later run on a CPU measures new methods on a subset of the same photos. Photos are matched by file name, every
method is restricted to the photos all runs share, and the means and medians are recomputed from the per-image
metrics; the table is printed in the README's format.

    python bench/join_compare.py bench/results/compare-afhq200.json runs/compare-test16/summary.json \
        --out bench/results/compare-test16.json
"""
import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inversion.metrics import summarize  # noqa: E402
from latentcat.files import write_json  # noqa: E402
from latentcat.jobs.compare import METRICS  # noqa: E402


def per_photo(summary: dict) -> dict[str, dict]:
    """Photo file name -> {method: {metrics..., seconds}}."""
    return {Path(item["input"]).name: {m: {**values, "seconds": item["seconds"][m]}
                                       for m, values in item["metrics"].items()}
            for item in summary["items"]}


def join(summaries: list[dict]) -> dict:
    runs = [per_photo(s) for s in summaries]
    shared = sorted(set.intersection(*(set(r) for r in runs)))
    methods: dict[str, dict] = {}
    for summary, run in zip(summaries, runs):
        for method in summary["methods"]:
            rows = [run[name][method] for name in shared]
            methods[method] = {key: summarize([r[key] for r in rows]) for key in (*METRICS, "seconds")}
            methods[method].update(lpips_net=rows[0]["lpips_net"] if rows else None,
                                   steps=summary["methods"][method]["steps"],
                                   tune_steps=summary["methods"][method].get("tune_steps", 0),
                                   run=summary.get("argv") or summary.get("command"))
    return {"photos": shared, "methods": methods}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("summaries", nargs="+", help="compare summary.json files (a later one's methods win)")
    parser.add_argument("--out", required=True, help="joined JSON")
    args = parser.parse_args()
    joined = join([json.loads(Path(p).read_text()) for p in args.summaries])
    write_json(args.out, joined)
    print(f"{len(joined['photos'])} photos in every run")
    print("| method | steps + tuning steps | MSE | PSNR dB | SSIM | LPIPS | s / image |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for method, m in joined["methods"].items():
        print(f"| {method} | {m['steps']} + {m['tune_steps']} | {m['mse']['mean']:.4f} | {m['psnr']['mean']:.2f} | "
              f"{m['ssim']['mean']:.3f} | {m['lpips']['mean']:.3f} | {m['seconds']['mean']:.2f} |")


if __name__ == "__main__":
    main()
