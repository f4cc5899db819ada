"""edit: move inverted photos (or saved latents) along a found direction, on chosen w+ layers.

Per input: a strip (one image per strength, left to right), a GIF sweeping from the smallest strength to the
largest and back, and the edited latents. Photos are inverted first with the usual flags; the directions must
belong to the generator in use (a tuned generator included: find its directions with it).
"""
from dataclasses import dataclass

import numpy as np
import torch

from inversion.directions import sweep
from latentcat.batches import codes_of, write_inverted
from latentcat.direction_files import describe_direction, directions_for
from latentcat.errors import UserError, user_facing
from latentcat.figures import rows_grid
from latentcat.images import image_grid, to_pil
from latentcat.inputs import read_inputs
from latentcat.latent_files import SUFFIX, write_code
from latentcat.outputs import Summary

DEFAULTS: dict = {}  # the engine's own defaults


@dataclass(frozen=True)
class EditOptions:
    directions: str                                       # a directions file, or the folder `directions` wrote
    index: int = 0                                        # which direction (0: the best scored)
    strengths: tuple[float, ...] = (-3.0, -1.5, 0.0, 1.5, 3.0)
    layers: tuple[int, ...] | None = None                 # None: the layers the directions were found on
    frames: int = 17                                      # GIF frames from the smallest strength to the largest
    fps: float = 10.0

    def __post_init__(self):
        if not self.strengths:
            raise ValueError("--strengths needs at least one value")
        if self.index < 0:
            raise ValueError(f"--index must be >= 0, got {self.index}")
        if self.frames < 2:
            raise ValueError(f"--frames must be at least 2, got {self.frames}")
        if not self.fps > 0:
            raise ValueError(f"--fps must be > 0, got {self.fps}")


def latent_writer(code, source: str):
    """What OutputFolder.write calls to save one edited latent."""
    return lambda path: write_code(path, code, source=source)


def run(session, paths: list[str], options: EditOptions, out) -> Summary:
    directions, layers = directions_for(session, options.directions, options.layers)
    o = options
    if o.index >= len(directions):
        raise UserError(f"--index {o.index}: there are {len(directions)} directions (0-{len(directions) - 1})",
                        o.directions)
    summary = Summary("edit", {**session.describe(), "directions": o.directions, "method": directions.method,
                               "direction": describe_direction(directions, o.index), "layers": list(layers),
                               "strengths": list(o.strengths)}, session.generator_info())
    inputs, errors = read_inputs(session, paths, allow_latents=True)
    results, failed = codes_of(session, inputs, out)
    summary.errors = errors + failed
    sweep_strengths = np.linspace(min(o.strengths), max(o.strengths), o.frames).tolist()
    rows, written = [], {}
    for r in results:
        G = r.generator or session.G  # a photo tuned by --tune-generator is edited with its own generator
        code = r.code.to(session.device)
        edited = user_facing(sweep, G, code, directions, o.index, o.strengths, layers)
        with torch.no_grad():
            images = edited.render(G).cpu()
            frames = user_facing(sweep, G, code, directions, o.index, sweep_strengths, layers).render(G).cpu()
        name = r.input.name
        item = write_inverted(out, r, session.generator_path, written)
        pictures = [to_pil(f) for f in frames]
        item["outputs"].update(
            strip=out.png(f"{name}-strip.png", image_grid(images, nrow=len(images))),
            gif=out.gif(f"{name}.gif", pictures + pictures[-2:0:-1], 1 / o.fps),
            edited=[out.write(f"{name}-strength{s:+g}{SUFFIX}",
                              latent_writer(edited[i].detach(), r.input.path))
                    for i, s in enumerate(o.strengths)])
        summary.items.append(item)
        rows.append([r.input.image if r.input.image is not None else torch.ones_like(images[0])] + list(images))
        out.save_summary(summary)
    if rows:
        summary.extra["grid"] = out.png("grid.png", rows_grid(rows))
    return summary
