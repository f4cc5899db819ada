"""directions-grid: the top directions x strengths on a few seeded samples, to look at and name them.

Writes per direction a picture (one row per sample, strengths left to right) and grid.png (every direction's rows,
best first). Each item records how far the extreme strengths move the pixels from the unedited sample, a number
to check a name against: a direction that "does nothing visible" moves them little.
"""
from dataclasses import dataclass

import torch

from generators.pixels import float_to_uint8
from inversion.directions import sample_codes, sweep
from latentcat.direction_files import describe_direction, directions_for, layer_summary
from latentcat.errors import user_facing
from latentcat.figures import rows_grid
from latentcat.outputs import Summary


@dataclass(frozen=True)
class DirectionsGridOptions:
    directions: str                                       # a directions file, or the folder `directions` wrote
    top: int = 5
    strengths: tuple[float, ...] = (-3.0, -1.5, 0.0, 1.5, 3.0)
    layers: tuple[int, ...] | None = None                 # None: the layers the directions were found on
    samples: int = 3
    seed: int = 0
    truncation: float = 0.7                               # of the samples, as `sample` draws them

    def __post_init__(self):
        for name in ("top", "samples"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name} must be positive, got {getattr(self, name)}")
        if not self.strengths:
            raise ValueError("--strengths needs at least one value")


def pixel_change(images: torch.Tensor, unedited: torch.Tensor) -> float:
    """Mean absolute difference of 8-bit images from the unedited ones, on a [0, 1] scale."""
    return float((float_to_uint8(images).float() - float_to_uint8(unedited).float()).abs().mean() / 255)


def run(session, paths: list[str], options: DirectionsGridOptions, out) -> Summary:
    directions, layers = directions_for(session, options.directions, options.layers)
    o, G = options, session.G
    codes = sample_codes(G, o.samples, o.seed, o.truncation).to(session.device)
    with torch.no_grad():
        unedited = codes.render(G).cpu()
    summary = Summary("directions-grid", {"directions": o.directions, "method": directions.method,
                                          "layers": list(layers), "strengths": list(o.strengths),
                                          "samples": o.samples, "seed": o.seed, "truncation": o.truncation},
                      session.generator_info())
    extremes = [i for i, s in enumerate(o.strengths) if s in (min(o.strengths), max(o.strengths))]
    all_rows = []
    for k in range(min(o.top, len(directions))):
        rows, changes = [], []
        for i in range(o.samples):
            with torch.no_grad():
                images = user_facing(sweep, G, codes[i], directions, k, o.strengths, layers).render(G).cpu()
            rows.append(list(images))
            changes.append(pixel_change(images[extremes], unedited[i].expand(len(extremes), -1, -1, -1)))
        item = {**describe_direction(directions, k), "pixel_change": sum(changes) / len(changes),
                "outputs": {"grid": out.png(f"direction-{k:02d}.png", rows_grid(rows))}}
        summary.items.append(item)
        all_rows += rows
        print(f"direction {k}: score {item['score']:.4g}, mean pixel change at the extremes "
              f"{item['pixel_change']:.3f}  {layer_summary(item)}")
    summary.extra["grid"] = out.png("grid.png", rows_grid(all_rows))
    return summary
