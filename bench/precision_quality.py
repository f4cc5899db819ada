"""What bf16 costs in quality: the same `infer.py compare` run in fp32 and in bf16 on the same photos.

    python bench/precision_quality.py VALIDATION_PHOTOS... --out bench/results     # on a GPU with bf16 units
Runs the encoder, the hybrid and the tuned hybrid (compare's own methods; steps set by the flags below) once per
precision and writes, for each method, both mean LPIPS and PSNR, their seconds per photo and bf16's LPIPS over
fp32's. The bar for making bf16 the GPU default: every method's LPIPS within 1% of fp32's. Use validation
photos, never the test photos a table reports. A CPU without bf16 units runs bf16 about 100 times slower than
fp32: keep it to a photo and a few steps there (it checks the script, not the figure).
Results go to OUT/precision_quality-<device>.json; the two compare runs' folders stay under OUT/precision-runs.
"""
import argparse
import json
import subprocess
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.timing import machine  # noqa: E402
from latentcat.files import write_json  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BAR = 0.01  # bf16's LPIPS may exceed fp32's by at most this fraction


def compare(photos: list[str], precision: str, args, out: Path) -> dict:
    """One `infer.py compare` run in `precision`; its summary's methods."""
    command = [sys.executable, str(ROOT / "infer.py"), "compare", *photos, "--methods", "encoder,hybrid,tuned",
               "--refine-steps", str(args.refine_steps), "--tuned-refine-steps", str(args.refine_steps),
               "--tune-generator", str(args.tune_steps), "--refine-lr", "0.02", "--drift-samples", "0",
               "--align", "off", "--precision", precision, "--no-progress", "--out", str(out)]
    subprocess.run(command, check=True)
    return json.loads((out / "summary.json").read_text())["methods"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photos", nargs="+", help="validation photos (files or folders)")
    parser.add_argument("--out", default="bench/results", help="folder for the JSON results")
    parser.add_argument("--refine-steps", type=int, default=50, help="latent steps of the hybrid and the tuned")
    parser.add_argument("--tune-steps", type=int, default=50, help="generator tuning steps of the tuned")
    parser.add_argument("--note", help="recorded with the results (what else the machine was doing)")
    args = parser.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    out = Path(args.out)
    runs = {p: compare(args.photos, p, args, out / "precision-runs" / p) for p in ("fp32", "bf16")}
    methods = {}
    for method, fp32 in runs["fp32"].items():
        bf16 = runs["bf16"][method]
        ratio = bf16["lpips"]["mean"] / fp32["lpips"]["mean"]
        methods[method] = {"lpips": {p: runs[p][method]["lpips"]["mean"] for p in runs},
                           "psnr": {p: runs[p][method]["psnr"]["mean"] for p in runs},
                           "seconds_per_image": {p: runs[p][method]["seconds_per_image"] for p in runs},
                           "bf16_lpips_over_fp32": ratio, "within_bar": ratio <= 1 + BAR}
    results = {**machine(device, args.note), "photos": args.photos, "refine_steps": args.refine_steps,
               "tune_steps": args.tune_steps, "bar": f"bf16 LPIPS <= {1 + BAR:g} x fp32's, every method",
               "methods": methods, "bf16_may_be_default": all(m["within_bar"] for m in methods.values())}
    path = out / f"precision_quality-{'gpu' if device.type == 'cuda' else 'cpu'}.json"
    write_json(path, results)
    print(json.dumps({m: round(v["bf16_lpips_over_fp32"], 4) for m, v in methods.items()}))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
