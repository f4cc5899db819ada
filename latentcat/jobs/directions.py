"""directions: find semantic directions in w+ and write them to directions.safetensors, with their scores, the
method and settings, and the generator's fingerprint.

SeFa and GANSpace need no data; `difference` encodes two labelled sets of photos (or reads their latents) and
takes the difference of their mean codes, per w+ layer.
"""
from dataclasses import dataclass

import torch

from inversion.code import Code
from inversion.directions import METHODS, ganspace, mean_difference, sefa
from inversion.metrics import summarize
from latentcat.batches import codes_of
from latentcat.direction_files import FILE_NAME, describe_direction, layer_summary, write_directions
from latentcat.errors import UserError, user_facing
from latentcat.generator_files import require_wplus
from latentcat.images import image_grid
from latentcat.inputs import expand_inputs, read_inputs
from latentcat.outputs import Summary

DEFAULTS = {"steps": 0}  # difference: the encoder's codes as they are (--steps N refines them)


@dataclass(frozen=True)
class DirectionsOptions:
    method: str = "sefa"
    layers: tuple[int, ...] | None = None   # w+ layers (None: all): SeFa's weights; where edits go by default
    num: int = 10                           # directions kept (SeFa, GANSpace)
    samples: int = 10000                    # GANSpace: mapped w samples
    seed: int = 0                           # GANSpace: seed of the samples
    positive: str | None = None             # difference: photos (or latents) with the attribute
    negative: str | None = None             # difference: photos (or latents) without it

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"--method must be one of {', '.join(METHODS)}, got {self.method!r}")
        if self.num < 1:
            raise ValueError(f"--num must be positive, got {self.num}")
        if (self.method == "difference") != bool(self.positive and self.negative):
            raise ValueError("--method difference takes --positive DIR and --negative DIR" if self.method ==
                             "difference" else f"--positive and --negative are for --method difference, not "
                                               f"{self.method}")


def encode_set(session, folder: str, out) -> tuple[Code | None, dict, list[dict]]:
    """Every photo (inverted) or latent file in `folder` as one w+ Code, with what the summary says about it."""
    inputs, errors = read_inputs(session, expand_inputs([folder], latents=True), allow_latents=True)
    results, failed = codes_of(session, inputs, out)
    about = {"folder": folder, "count": len(results), "inputs": [r.input.path for r in results]}
    if any(r.metrics for r in results):
        about["metrics_mean"] = {k: summarize([r.metrics[k] for r in results if r.metrics])
                                 for k in ("mse", "psnr", "lpips")}
    if not results:
        return None, about, errors + failed
    codes = Code.cat([r.code.to(session.device).as_wplus(session.G) for r in results])
    return codes, about, errors + failed


def difference(session, options: DirectionsOptions, out, summary: Summary):
    if session.config.optimizer.steps == 0 and (session.start.init in ("mean", "random") or session.start.code
                                                is not None):  # every photo would get the same code
        raise UserError("difference needs each photo's own code: an encoder (--encoder CKPT) or --steps > 0")
    sets = {}
    for name in ("positive", "negative"):
        print(f"{name}: encoding {getattr(options, name)}")
        sets[name], summary.extra.setdefault("sets", {})[name], failed = encode_set(session, getattr(options, name),
                                                                                    out)
        summary.errors += [{**e, "set": name} for e in failed]
    if any(codes is None for codes in sets.values()):
        return None
    directions = user_facing(mean_difference, session.G, sets["positive"], sets["negative"], options.layers)
    with torch.no_grad():
        means = torch.cat([Code(c.latent.mean(dim=0, keepdim=True), "w+").render(session.G)
                           for c in (sets["negative"], sets["positive"])]).cpu()
    summary.extra["means"] = out.png("means.png", image_grid(means, nrow=2))
    return directions


def run(session, paths: list[str], options: DirectionsOptions, out) -> Summary:
    G = session.G
    require_wplus(G, session.generator_path, "directions")
    o = options
    summary = Summary("directions", {**session.describe(), "method": o.method,
                                     "layers": list(o.layers) if o.layers else None, "num": o.num,
                                     **({"samples": o.samples, "seed": o.seed} if o.method == "ganspace" else {}),
                                     **({"positive": o.positive, "negative": o.negative}
                                        if o.method == "difference" else {})},
                      session.generator_info())
    if o.method == "sefa":
        directions = user_facing(sefa, G, o.layers, o.num)
    elif o.method == "ganspace":
        directions = user_facing(ganspace, G, o.samples, o.seed, o.layers, o.num)
    else:
        directions = difference(session, o, out, summary)
        if directions is None:
            return summary
    summary.extra["directions"] = out.write(FILE_NAME, lambda p: write_directions(p, directions))
    summary.items = [describe_direction(directions, k) for k in range(len(directions))]
    for item in summary.items[:10]:
        share = f", {item['explained_variance']:.1%} of w's variance" if "explained_variance" in item else ""
        print(f"direction {item['index']}: score {item['score']:.4g}{share}  {layer_summary(item)}")
    return summary
