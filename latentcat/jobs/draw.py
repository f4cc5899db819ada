"""draw: fit the generator to coloured scribbles, only where they were drawn (iGAN, the course's "draw")."""
from dataclasses import dataclass, field

import torch

from inversion.code import Code
from inversion.draw import START_TRUNCATION, fit_sketch, rank_fits
from latentcat.errors import UserError
from latentcat.figures import rows_grid
from latentcat.images import image_grid, to_pil
from latentcat.inputs import Input, report
from latentcat.latent_files import SUFFIX, write_code
from latentcat.outputs import Summary
from latentcat.sketches import load_sketch, sketch_preview

# w, not w+: a few strokes constrain little, and w keeps the fit on the manifold of cats (as iGAN does); a pull
# toward w_avg of 0.5 (0.05 before) keeps it there where the strokes alone drag it into blobs of their colour.
# The loss network reads the 64 px images as they are: on the nine course scribbles the fits score as those read
# at 128 px do (stroke error 0.120 against 0.117, distance to real cats 0.431 against 0.445) for a quarter of the
# loss network's work, which keeps the studio's draw tab live (docs/investigations.md, draw's defaults)
DEFAULTS = {"steps": 200, "mean_weight": 0.5, "space": "w", "perceptual_upsample": 1}


@dataclass(frozen=True)
class DrawOptions:
    # 1: start from the mean (a blurred average cat, whose fits stay blurred); K > 1: K random starts (truncated,
    # START_TRUNCATION), all kept, best first
    samples: int = 3

    def __post_init__(self):
        if self.samples < 1:
            raise ValueError(f"--samples must be positive, got {self.samples}")


@dataclass
class Fitted:
    """One sketch's fits, best first, or why there are none."""
    error: str | None = None
    sketch: torch.Tensor | None = None
    mask: torch.Tensor | None = None
    images: list = field(default_factory=list)
    code: Code | None = None      # the best fit's
    scores: list = field(default_factory=list)
    seconds: float = 0.0
    steps: int = 0


def fit(session, path, k: int) -> Fitted:
    try:
        sketch, mask, notes = load_sketch(path, session.G.resolution)
    except UserError as e:
        return Fitted(e.reason)
    for note in notes:
        print(f"note: {note}")
    result = fit_sketch(session.G, sketch.to(session.device), mask.to(session.device), session.config, k,
                        session.config.seed, session.network, progress=session.settings.progress)
    ranked, scores = rank_fits(result.images, sketch, mask, skip=result.log.failures)
    if not ranked:
        return Fitted(f"optimisation stopped: {result.log.failures[0]}")
    return Fitted(None, sketch, mask, [result.images[i].cpu() for i in ranked], result.code[ranked[0]].to("cpu"),
                  [scores[i] for i in ranked], result.log.seconds, result.log.steps)


def fitted_sketches(session, paths: list[str], k: int):
    """(index, path, Fitted) per sketch, in order; in a run split across processes each process fits every N-th
    sketch (`latentcat.shards`)."""
    for mine in session.shards.mine(list(enumerate(paths))):
        outcome = (*mine, fit(session, mine[1], k)) if mine else None
        yield from (o for o in session.shards.exchange(outcome) if o is not None)


def run(session, paths: list[str], options: DrawOptions, out) -> Summary:
    """Fit every sketch; write per sketch its results (best first), grid and best latent, plus grid.png."""
    summary = Summary("draw", {**session.describe(), "samples": options.samples,
                                "start_truncation": START_TRUNCATION}, session.generator_info())
    rows = []
    for index, path, fitted in fitted_sketches(session, paths, options.samples):
        if fitted.error:
            report(summary.errors, path, fitted.error)
            continue
        name = Input(index, str(path)).name
        outputs = {f"result_{rank}": out.png(f"{name}-{rank}.png", to_pil(image))
                   for rank, image in enumerate(fitted.images)}
        outputs["latent"] = out.write(f"{name}{SUFFIX}", lambda p: write_code(p, fitted.code, source=str(path)))
        row = [sketch_preview(fitted.sketch, fitted.mask), fitted.mask.expand(3, -1, -1) * 2 - 1, *fitted.images]
        outputs["grid"] = out.png(f"{name}-grid.png", image_grid(torch.stack(row), nrow=len(row)))
        rows.append(row)
        summary.items.append({"input": str(path), "outputs": outputs,
                              "metrics": {"masked_l1": fitted.scores[0], "masked_l1_all": fitted.scores,
                                          "mask_coverage": float(fitted.mask.mean())},
                              "seconds": round(fitted.seconds, 4), "steps": fitted.steps})
        out.save_summary(summary)
    if rows:
        summary.extra["grid"] = out.png("grid.png", rows_grid(rows))
    return summary
