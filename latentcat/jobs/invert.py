"""invert: find the latent of each photo; each batch's reconstructions, latents and summary entries are
written as soon as it finishes, so an interrupted run can be continued with --resume."""
import json
from dataclasses import dataclass

from generators.pixels import uint8_to_float
from inversion.metrics import summarize
from latentcat.batches import invert_batches, write_inverted
from latentcat.errors import UserError
from latentcat.figures import loss_curves, metric_curves, rows_grid
from latentcat.images import open_image, pil_to_uint8
from latentcat.inputs import Input, read_inputs
from latentcat.outputs import OutputFolder, Summary

DEFAULTS: dict = {}  # the engine's own defaults


@dataclass(frozen=True)
class InvertOptions:
    resume: bool = False  # keep the photos an earlier run into the same --out finished, with the same settings


def finished_items(out: OutputFolder, summary: Summary, inputs: list[Input]) -> dict[int, dict]:
    """--resume: the summary items an earlier run into `out` left for these inputs, by input index. Only an item
    for the same input under the same output name, whose files are all still as written, is kept; any setting
    but the device must be the same."""
    previous = out.previous_summary()
    if previous is None:
        return {}
    now, before = json.loads(json.dumps(summary.settings)), previous.get("settings") or {}
    differs = sorted(key for key in set(now) | set(before) if key != "device" and now.get(key) != before.get(key))
    if (previous.get("generator") or {}).get("fingerprint") != summary.generator["fingerprint"]:
        differs.insert(0, "generator")
    if previous.get("command") != summary.command:
        differs.insert(0, "command")
    if differs:
        raise UserError(f"--resume: the earlier run in --out used other settings ({', '.join(differs)}); repeat "
                        "its flags, or choose another --out", out.root)
    by_input = {item.get("input"): item for item in previous.get("items", [])}
    kept = {}
    for inp in inputs:
        item = by_input.get(inp.path)
        if (item and item["outputs"].get("reconstruction") == f"{inp.name}.png"
                and all(out.holds(name) for name in item["outputs"].values())):
            kept[inp.index] = item
    return kept


def kept_render(out: OutputFolder, item: dict):
    """The reconstruction an earlier run wrote for `item`, as an image tensor for the grid."""
    return uint8_to_float(pil_to_uint8(open_image(out.root / item["outputs"]["reconstruction"]).convert("RGB")))


def run(session, paths: list[str], options: InvertOptions, out) -> Summary:
    inputs, errors = read_inputs(session, paths)
    summary = Summary("invert", session.describe(), session.generator_info(), errors=errors)
    items = finished_items(out, summary, inputs) if options.resume else {}
    if items:
        print(f"note: --resume: {len(items)} photo(s) already done in {out.root}; inverting the other "
              f"{len(inputs) - len(items)}")
    rows = {inp.index: (inp.image, kept_render(out, items[inp.index])) for inp in inputs if inp.index in items}
    results, written = [], {}
    for done, failed in invert_batches(session, [inp for inp in inputs if inp.index not in items], out):
        summary.errors += failed
        for r in done:
            items[r.input.index] = write_inverted(out, r, session.generator_path, written)
            rows[r.input.index] = (r.input.image, r.image)
        summary.items = [items[i] for i in sorted(items)]
        results += done
        out.save_summary(summary)
    summary.items = [items[i] for i in sorted(items)]
    if items:
        summary.extra["metrics_mean"] = {k: summarize([item["metrics"][k] for item in summary.items])
                                         for k in ("mse", "psnr", "ssim", "lpips")}
    if not out.writes:  # a split run's other processes: the main one draws the figures
        return summary
    if items:
        summary.extra["grid"] = out.png("grid.png", rows_grid([rows[i] for i in sorted(rows)]))
    for name, picture in (("loss.png", loss_curves(results)), ("metrics.png", metric_curves(results))):
        if picture is not None:  # this run's photos only: the losses of kept ones are not stored
            out.png(name, picture)
    return summary
