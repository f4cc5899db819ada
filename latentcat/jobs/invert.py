"""invert: find the latent of each photo; each batch's reconstructions, latents and summary entries are
written as soon as it finishes."""
from inversion.metrics import summarize
from latentcat.batches import invert_batches, write_inverted
from latentcat.figures import loss_curves, metric_curves, rows_grid
from latentcat.inputs import read_inputs
from latentcat.outputs import Summary

DEFAULTS: dict = {}  # the engine's own defaults


def run(session, paths: list[str], options, out) -> Summary:
    inputs, errors = read_inputs(session, paths)
    summary = Summary("invert", session.describe(), session.generator_info(), errors=errors)
    results, written = [], {}
    for done, failed in invert_batches(session, inputs, out):
        summary.errors += failed
        summary.items += [write_inverted(out, r, session.generator_path, written) for r in done]
        results += done
        out.save_summary(summary)
    if results:
        summary.extra["metrics_mean"] = {k: summarize([r.metrics[k] for r in results])
                                         for k in ("mse", "psnr", "ssim", "lpips")}
        summary.extra["grid"] = out.png("grid.png", rows_grid([(r.input.image, r.image) for r in results]))
        for name, picture in (("loss.png", loss_curves(results)), ("metrics.png", metric_curves(results))):
            if picture is not None:
                out.png(name, picture)
    return summary
