"""Which `draw` settings keep a scribble's fit a cat: candidate settings on the course's nine scribbles.

    python bench/draw_fits.py --out bench/results --grid docs/scribble-fits.png

Each setting fits the nine scribbles (64 px RGBA, alpha = where drawn) with the shipped generator, and scores
the fit it keeps (the best of its starts) three ways, none of them the loss it minimised:
- stroke_l1: mean absolute error inside the strokes ([0, 1] scale): are the strokes respected?
- cat_distance: mean cosine distance of the fit's EfficientNet-Lite0 features (FID-EffNetLite0's network) to
  its 5 nearest real AFHQ training cats, read at 64 px as the fits are: does it look like a cat? The same score
  for held-out real cats and for the generator's own samples is written beside it as the scale.
- w_spread: distance of the fit's w from w_avg, in units of the RMS distance of sampled w (a sample: about 1).
Writes OUT/draw_fits-<device>.json and OUT/draw_fits-grid.png (scribble | old default fit | current default
fit, one column per scribble; --grid writes it elsewhere too). The data are read from ../shared/data beside the
project; the script stops with a message where they are absent.
"""
import argparse
import dataclasses
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image
from safetensors.torch import load_file, save_file

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.timing import machine  # noqa: E402
from generators.protocol import seeded_z  # noqa: E402
from inversion.draw import START_TRUNCATION, fit_sketch, rank_fits, sketch_starts  # noqa: E402
from inversion.feature_networks import DEFAULT_PERCEPTUAL, build_feature_network  # noqa: E402
from inversion.invert import InversionConfig, invert  # noqa: E402
from inversion.latents import w_spread  # noqa: E402
from inversion.losses import LossWeights, PerceptualLoss  # noqa: E402
from inversion.metrics import masked_l1  # noqa: E402
from inversion.optimize import OptimizerConfig  # noqa: E402
from latentcat.fid import extract_features, load_feature_net, nearest_neighbours  # noqa: E402
from latentcat.figures import rows_grid  # noqa: E402
from latentcat.files import write_json  # noqa: E402
from latentcat.generator_files import load_generator  # noqa: E402
from latentcat.images import list_files, pil_to_uint8, save_png  # noqa: E402
from latentcat.jobs.draw import DEFAULTS, DrawOptions  # noqa: E402
from latentcat.shipped import SHIPPED_GENERATOR  # noqa: E402
from latentcat.sketches import load_sketch, sketch_preview  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
NEIGHBOURS = 5


@dataclass(frozen=True)
class Setting:
    """One candidate: the pull toward w_avg, the starts (1: the mean; K: K random starts truncated by psi),
    w+ from this fraction of the steps on (1: w throughout), and how the kept fit is chosen among the starts."""
    mean_weight: float
    starts: int = 1
    truncation: float = 1.0
    wplus_from: float = 1.0
    rank: str = "stroke"   # stroke: lowest error inside the strokes; outside: least change outside them
    upsample: int = InversionConfig.perceptual_upsample  # the side at which the loss network reads, x 64 px


OLD_NAME = "old default (w, mean 0.05, mean start)"
SETTINGS = {
    OLD_NAME: Setting(mean_weight=0.05),
    "mean 0.5": Setting(mean_weight=0.5),
    "mean 2": Setting(mean_weight=2.0),
    "w then w+ (half), mean 0.05": Setting(mean_weight=0.05, wplus_from=0.5),
    "3 starts psi 0.7, mean 0.5, by stroke": Setting(mean_weight=0.5, starts=3, truncation=0.7),
    "3 starts psi 0.7, mean 0.5, by outside": Setting(mean_weight=0.5, starts=3, truncation=0.7, rank="outside"),
    "3 starts psi 0.7, mean 0.5, loss read at 64 px": Setting(mean_weight=0.5, starts=3, truncation=0.7, upsample=1),
}


def current_default() -> Setting:
    """The setting `infer.py draw` now uses (latentcat/jobs/draw.py)."""
    starts = DrawOptions().samples
    return Setting(mean_weight=DEFAULTS["mean_weight"], starts=starts,
                   truncation=START_TRUNCATION if starts > 1 else 1.0, upsample=DEFAULTS["perceptual_upsample"])


def real_images(folder: Path, count: int, resolution: int) -> torch.Tensor:
    """The first `count` photos of a folder at the generator's size, uint8 [N, 3, R, R]."""
    files = list_files(folder)[:count]
    return torch.stack([pil_to_uint8(Image.open(f).convert("RGB").resize((resolution, resolution), Image.LANCZOS))
                        for f in files])


def cat_distance(features: torch.Tensor, real: torch.Tensor) -> list[float]:
    """Each image's mean cosine distance to its nearest real cats (features from `extract_features`)."""
    return nearest_neighbours(features, real, NEIGHBOURS)[0].mean(dim=1).tolist()


def fit_all(G, network, sketch, mask, setting: Setting, steps: int, seed: int):
    """Every start's fit of one scribble: (images [K, 3, R, R], w or w+ latents [K, ...], start renders)."""
    config = InversionConfig(space="w", weights=LossWeights(mean_distance=setting.mean_weight),
                             optimizer=OptimizerConfig(steps=round(steps * setting.wplus_from)), seed=seed,
                             perceptual_upsample=setting.upsample)
    result = fit_sketch(G, sketch, mask, config, setting.starts, seed, network, progress=False,
                        truncation=setting.truncation)
    if setting.wplus_from < 1:  # go on in w+ from where w got
        free = dataclasses.replace(config, space="w+", optimizer=dataclasses.replace(
            config.optimizer, steps=steps - config.optimizer.steps))
        k = setting.starts
        result = invert(G, sketch.expand(k, -1, -1, -1), free, result.code.as_wplus(G),
                        masks=mask.expand(k, -1, -1, -1), network=network, progress=False)
    with torch.no_grad():
        starts = sketch_starts(G, config, setting.starts, seed, setting.truncation).render(G)
    return result.images, result.code.codes(G), starts


def kept(G, network, sketch, mask, fits, setting: Setting) -> int:
    """Which of a scribble's fits the setting keeps."""
    images, _, starts = fits
    if setting.rank == "stroke":
        return rank_fits(images, sketch, mask)[0][0]
    loss = PerceptualLoss(network, InversionConfig().perceptual_side(G))
    with torch.no_grad():  # how much of its start's cat each fit gave up where nothing was drawn
        return int(loss(images, starts, (1 - mask).expand(len(images), -1, -1, -1)).argmin())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="bench/results", help="folder for the JSON and the grid")
    parser.add_argument("--grid", help="also write the before/after grid here (e.g. docs/scribble-fits.png)")
    parser.add_argument("--steps", type=int, default=200, help="optimisation steps per fit (draw's default: 200)")
    parser.add_argument("--only", nargs="*", help="names of the settings to run, added to an earlier run's JSON "
                                                  "(default: every setting, and the current default)")
    parser.add_argument("--real", type=int, default=300, help="AFHQ training cats the cat distance compares with")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--note", help="recorded with the results (what else the machine was doing)")
    args = parser.parse_args()
    if not (DATA / "sketches").is_dir():
        sys.exit(f"no scribbles at {DATA / 'sketches'}: this benchmark needs the course's data beside the project")
    out = Path(args.out)
    path = out / f"draw_fits-{'gpu' if torch.cuda.is_available() else 'cpu'}.json"
    fits_path = out / "draw_fits-fits.safetensors"
    earlier = json.loads(path.read_text()) if args.only and path.exists() else {}
    if earlier and (earlier["steps"], earlier["seed"], earlier["real_cats"]) != (args.steps, args.seed, args.real):
        sys.exit(f"{path} was run with other --steps, --seed or --real: choose another --out")
    G = load_generator(SHIPPED_GENERATOR)
    network = build_feature_network(DEFAULT_PERCEPTUAL)
    effnet = load_feature_net("effnet-lite0")
    R = G.resolution
    real = extract_features(effnet, real_images(DATA / "afhq-cat" / "train", args.real, R))
    spread = w_spread(G)
    scale = earlier.get("cat_distance_scale")
    if scale is None:
        with torch.no_grad():
            samples = {psi: torch.cat([G.sample(z[None], psi) for z in seeded_z(G.z_dim, 27, args.seed + 1)])
                       for psi in (1.0, 0.7)}
        scale = {"held-out real cats (AFHQ test)": real_images(DATA / "afhq-cat" / "test", 27, R),
                 **{f"generator samples, psi {psi}": images for psi, images in samples.items()}}
        scale = {name: sum(cat_distance(extract_features(effnet, images), real)) / len(images)
                 for name, images in scale.items()}
    sketches = [load_sketch(DATA / "sketches" / f"sketch_{i}.png", R)[:2] for i in range(9)]
    targets, masks = torch.stack([s for s, _ in sketches]), torch.stack([m for _, m in sketches])
    settings = {name: SETTINGS[name] for name in (args.only or SETTINGS)}
    if not args.only and current_default() not in settings.values():
        settings["current default"] = current_default()
    results = earlier.get("settings", {})
    chosen = load_file(fits_path) if earlier and fits_path.exists() else {}
    runs = {}  # the fits of each setting, whatever its ranking: (fits per scribble, seconds per scribble)
    for name, setting in settings.items():
        fitted = dataclasses.replace(setting, rank="stroke")
        if fitted not in runs:
            tic = time.perf_counter()
            runs[fitted] = ([fit_all(G, network, s, m, setting, args.steps, args.seed) for s, m in sketches],
                            (time.perf_counter() - tic) / len(sketches))
        per_scribble, seconds = runs[fitted]
        best = [kept(G, network, s, m, f, setting) for (s, m), f in zip(sketches, per_scribble)]
        images = torch.stack([f[0][i] for f, i in zip(per_scribble, best)])
        codes = torch.stack([f[1][i] for f, i in zip(per_scribble, best)])
        chosen[name] = images
        distance = (codes - G.w_avg).norm(dim=-1).square().mean(dim=-1).sqrt() / spread
        scores = {"stroke_l1": masked_l1(images, targets, masks),
                  "cat_distance": cat_distance(extract_features(effnet, images), real),
                  "w_spread": distance.tolist()}
        results[name] = {"setting": dataclasses.asdict(setting), **{k: sum(v) / len(v) for k, v in scores.items()},
                         "per_scribble": scores, "seconds_per_scribble": seconds,
                         "machine": machine(torch.device("cpu"), args.note)}  # settings added later ran elsewhere
        print(f"{name}: " + ", ".join(f"{k} {results[name][k]:.3f}" for k in (*scores, "seconds_per_scribble")),
              flush=True)
        write_json(path, {**machine(torch.device("cpu"), args.note), "steps": args.steps, "seed": args.seed,
                          "real_cats": args.real, "cat_distance_scale": scale,
                          "settings": results})
        save_file(chosen, fits_path)
    write_grid(sketches, chosen, [out / "draw_fits-grid.png", *([args.grid] if args.grid else [])])
    print(f"wrote {path}")


def write_grid(sketches, chosen: dict, paths) -> None:
    """Scribble | old default's fit | current default's fit, one column per scribble, where both were run."""
    names = {setting: name for name, setting in reversed(SETTINGS.items())}
    new = names.get(current_default(), "current default")
    if new in chosen and OLD_NAME in chosen:
        previews = [sketch_preview(s, m) for s, m in sketches]
        grid = rows_grid([previews, list(chosen[OLD_NAME]), list(chosen[new])])
        for path in paths:
            save_png(path, grid)


if __name__ == "__main__":
    main()
