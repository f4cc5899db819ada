"""Robustness to unaligned photos, as Image2StyleGAN measured it: test cats shifted, zoomed out and turned,
inverted with --align off (centre crop) and --align auto (the cat's face framed as AFHQ frames it), scored
against the aligned original. Also the detector's hit rate and time per photo.

    python bench/framing_robustness.py --count 50 --steps 0 --out bench/results
    python bench/framing_robustness.py --count 10 --steps 20 --lr 0.02 --out bench/results  # encoder + 20 steps

Perturbations are made at 256 px (shift: right and down by d px; zoom: the photo shrunk to 80% or 60% of the
frame; turn: 15 degrees clockwise), the uncovered border filled by reflection. Reconstructions and originals are
compared at the generator's resolution (LPIPS with the session's metric network, PSNR). Detection is timed on
every test photo and on the perturbed copies. Writes OUT/framing-robustness-steps<S>.json and
OUT/framing-robustness-steps<S>.png (two cats per perturbation: perturbed | off | auto frame | auto | original).
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.timing import machine  # noqa: E402
from generators.pixels import uint8_to_float  # noqa: E402
from inversion.invert import InversionConfig  # noqa: E402
from inversion.metrics import reconstruction_metrics  # noqa: E402
from inversion.optimize import OptimizerConfig  # noqa: E402
from latentcat.batches import invert_all  # noqa: E402
from latentcat.figures import rows_grid  # noqa: E402
from latentcat.files import write_json  # noqa: E402
from latentcat.framing import DETECTOR, Crop, FramingConfig, frame, frame_photo  # noqa: E402
from latentcat.images import list_files, open_rgb, pil_to_uint8, square_rgb  # noqa: E402
from latentcat.inputs import Input  # noqa: E402
from latentcat.session import SessionSettings, open_session  # noqa: E402

SIZE = 256
PERTURBATIONS = {"none": {}, "shift 8": {"shift": 8}, "shift 16": {"shift": 16}, "shift 32": {"shift": 32},
                 "zoom 80%": {"zoom": 0.8}, "zoom 60%": {"zoom": 0.6}, "turn 15°": {"angle": 15.0}}


def perturbation(shift: float = 0.0, zoom: float = 1.0, angle: float = 0.0) -> Crop:
    """The frame that makes the perturbed copy of a SIZE px photo (content moved right and down by `shift`,
    shrunk to `zoom`, turned clockwise by `angle` degrees)."""
    return Crop.around((SIZE / 2 - shift,) * 2, SIZE / zoom, -angle, SIZE, (SIZE, SIZE))


def as_tensor(img) -> torch.Tensor:
    return uint8_to_float(pil_to_uint8(img))


def detection_stats(photos) -> dict:
    """Share of photos where a face is found, and seconds per photo (wall and this process's CPU)."""
    found, wall, cpu = 0, 0.0, 0.0
    for photo in photos:
        t, c = time.perf_counter(), time.process_time()
        found += bool(DETECTOR.detect(photo))
        wall, cpu = wall + time.perf_counter() - t, cpu + time.process_time() - c
    n = len(photos)
    return {"photos": n, "found": found, "rate": found / n, "seconds_wall": wall / n, "seconds_cpu": cpu / n}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="../shared/data/afhq-cat/test", help="aligned AFHQ test cats (256 px)")
    parser.add_argument("--count", type=int, default=50, help="cats inverted (the first COUNT, sorted by name)")
    parser.add_argument("--steps", type=int, default=0, help="optimisation steps after the encoder (0: encoder)")
    parser.add_argument("--lr", type=float, default=0.02, help="learning rate of those steps")
    parser.add_argument("--detect-all", action="store_true", help="also time detection on every test cat")
    parser.add_argument("--out", default="bench/results", help="folder for the JSON and the picture")
    args = parser.parse_args()
    files = [f for f in list_files(args.data) if f.suffix.lower() in (".jpg", ".png")]
    session = open_session(SessionSettings(inversion=InversionConfig(optimizer=OptimizerConfig(steps=args.steps,
                                                                                               lr=args.lr)),
                                           init="encoder", progress=False))
    R = session.G.resolution
    originals = [open_rgb(f)[0] for f in files[:args.count]]
    targets = torch.stack([as_tensor(square_rgb(p, R, "", [])) for p in originals])
    result = {"command": " ".join(sys.argv), "machine": machine(session.device), "cats": len(originals),
              "steps": args.steps, "lr": args.lr if args.steps else None, "resolution": R,
              "metric_net": session.metric_network.name, "detector": DETECTOR.__dict__, "perturbations": {}}
    if args.detect_all:
        result["detection_all_test_cats"] = detection_stats([open_rgb(f)[0] for f in files])
        print(f"detection on {len(files)} test cats: {result['detection_all_test_cats']}", flush=True)
    rows = []
    for name, params in PERTURBATIONS.items():
        copies = [frame(p, perturbation(**params)) if params else p for p in originals]
        entry = {"detection": detection_stats(copies)}
        pictures = []
        for align in ("off", "auto"):
            framed = [frame_photo(c, R, FramingConfig(align=align))[0] for c in copies]
            inputs = [Input(i, f"{i}", image=as_tensor(img)) for i, img in enumerate(framed)]
            done, _ = invert_all(session, inputs)
            recon = torch.stack([r.image for r in sorted(done, key=lambda r: r.input.index)])
            metrics = reconstruction_metrics(recon, targets, session.metric_network)
            entry[align] = {key: {"mean": float(np.mean([m[key] for m in metrics])),
                                  "median": float(np.median([m[key] for m in metrics]))} for key in ("lpips", "psnr")}
            pictures.append((torch.stack([inp.image for inp in inputs[:6]]), recon[:6]))
        result["perturbations"][name] = entry
        rows += [[as_tensor(copies[i].resize((R, R))), pictures[0][1][i], pictures[1][0][i], pictures[1][1][i],
                  targets[i]] for i in range(min(2, len(copies)))]
        print(f"{name:9s} found {entry['detection']['rate']:.0%}  off: lpips {entry['off']['lpips']['mean']:.3f} "
              f"psnr {entry['off']['psnr']['mean']:.2f}  auto: lpips {entry['auto']['lpips']['mean']:.3f} "
              f"psnr {entry['auto']['psnr']['mean']:.2f}", flush=True)
    out = Path(args.out)
    write_json(out / f"framing-robustness-steps{args.steps}.json", result)
    rows_grid(rows).save(out / f"framing-robustness-steps{args.steps}.png")


if __name__ == "__main__":
    main()
