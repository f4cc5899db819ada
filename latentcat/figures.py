"""The pictures commands write besides their images: side-by-side grids and curves (matplotlib)."""
import io

import matplotlib
import torch
from PIL import Image

from latentcat.images import image_grid

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def rows_grid(rows: list) -> Image.Image:
    """One row per input, its images [3, R, R] side by side (e.g. target | reconstruction); short rows padded
    white."""
    width = max(len(row) for row in rows)
    cells = [img for row in rows for img in list(row) + [torch.ones_like(row[0])] * (width - len(row))]
    return image_grid(torch.stack(cells), nrow=width)


def curves(series: dict[str, tuple[list, list]], xlabel: str, ylabel: str, title: str, log_y: bool = False,
           faint: dict[str, tuple[list, list]] | None = None) -> Image.Image:
    """One line per entry of `series` ({label: (xs, ys)}); `faint` entries are drawn thin and unlabelled."""
    return panels([(series, xlabel, ylabel, title, log_y, faint)])


def panels(plots: list[tuple], columns: int = 2) -> Image.Image:
    """Several plots side by side, each (series, xlabel, ylabel, title[, log_y[, faint]]) as in `curves`; a
    series of one point is drawn as a marker."""
    rows = (len(plots) + columns - 1) // columns
    width = min(len(plots), columns)
    fig, axes = plt.subplots(rows, width, figsize=(6 * width, 4 * rows), dpi=100, squeeze=False)
    for ax, (series, xlabel, ylabel, title, *rest) in zip(axes.flat, plots):
        log_y, faint = (list(rest) + [False, None])[:2]
        for xs, ys in (faint or {}).values():
            ax.plot(xs, ys, color="0.75", linewidth=0.8)
        for label, (xs, ys) in series.items():
            ax.plot(xs, ys, label=label, linewidth=2, marker="o" if len(xs) == 1 else None)
        ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
        if log_y:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        if series:
            ax.legend()
    for ax in list(axes.flat)[len(plots):]:
        ax.axis("off")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return Image.open(buffer)


def loss_curves(results) -> Image.Image | None:
    """Each inversion's loss against step (the mean over images, the others faint, past six images)."""
    series = {r.input.name: (list(range(len(r.losses))), r.losses) for r in results if r.losses}
    if not series:
        return None
    if len(series) <= 6:
        return curves(series, "step", "loss", "inversion loss", log_y=True)
    steps = max(len(ys) for _, ys in series.values())
    mean = [sum(ys[s] for _, ys in series.values() if s < len(ys)) / len(series) for s in range(steps)]
    return curves({"mean over images": (list(range(steps)), mean)}, "step", "loss", "inversion loss", log_y=True,
                  faint=series)


def metric_curves(results, metric: str = "lpips") -> Image.Image | None:
    """Each inversion's recorded metric against step (None when nothing was recorded)."""
    series = {r.input.name: (r.record["step"], r.record[metric]) for r in results if r.record}
    if not series:
        return None
    net = results[0].metrics.get("lpips_net", "")
    label = f"{metric} ({net})" if metric == "lpips" else metric
    return curves(series, "step", label, f"{label} against step")
