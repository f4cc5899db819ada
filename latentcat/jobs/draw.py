"""draw: fit the generator to coloured scribbles, only where they were drawn (iGAN, the course's "draw")."""
from dataclasses import dataclass

import torch

from inversion.draw import fit_sketch, rank_fits
from latentcat.errors import UserError
from latentcat.figures import rows_grid
from latentcat.images import image_grid, to_pil
from latentcat.inputs import Input, report
from latentcat.latent_files import SUFFIX, write_code
from latentcat.outputs import Summary
from latentcat.sketches import load_sketch, sketch_preview

# w, not w+: a few strokes constrain little, and w keeps the fit on the manifold of cats (as iGAN does)
DEFAULTS = {"steps": 200, "mean_weight": 0.05, "space": "w"}


@dataclass(frozen=True)
class DrawOptions:
    samples: int = 1      # 1: start from the mean; K > 1: K random starts, all kept, best first

    def __post_init__(self):
        if self.samples < 1:
            raise ValueError(f"--samples must be positive, got {self.samples}")


def run(session, paths: list[str], options: DrawOptions, out) -> Summary:
    """Fit every sketch; write per sketch its results (best first), grid and best latent, plus grid.png."""
    summary = Summary("draw", {**session.describe(), "samples": options.samples}, session.generator_info())
    rows, k = [], options.samples
    for index, path in enumerate(paths):
        try:
            sketch, mask, notes = load_sketch(path, session.G.resolution)
        except UserError as e:
            report(summary.errors, path, e.reason)
            continue
        for note in notes:
            print(f"note: {note}")
        result = fit_sketch(session.G, sketch.to(session.device), mask.to(session.device), session.config, k,
                            session.config.seed, session.network, progress=session.settings.progress)
        ranked, scores = rank_fits(result.images, sketch, mask, skip=result.log.failures)
        if not ranked:
            report(summary.errors, path, f"optimisation stopped: {result.log.failures[0]}")
            continue
        name = Input(index, str(path)).name
        outputs = {f"result_{rank}": out.png(f"{name}-{rank}.png", to_pil(result.images[i]))
                   for rank, i in enumerate(ranked)}
        outputs["latent"] = out.write(f"{name}{SUFFIX}",
                                      lambda p: write_code(p, result.code[ranked[0]], source=str(path)))
        row = [sketch_preview(sketch, mask), mask.expand(3, -1, -1) * 2 - 1] + [result.images[i] for i in ranked]
        outputs["grid"] = out.png(f"{name}-grid.png", image_grid(torch.stack(row), nrow=len(row)))
        rows.append(row)
        summary.items.append({"input": str(path), "outputs": outputs,
                              "metrics": {"masked_l1": scores[ranked[0]], "masked_l1_all": [scores[i] for i in ranked],
                                          "mask_coverage": float(mask.mean())},
                              "seconds": round(result.log.seconds, 4), "steps": result.log.steps})
        out.save_summary(summary)
    if rows:
        summary.extra["grid"] = out.png("grid.png", rows_grid(rows))
    return summary
