"""Curves as PNGs (loss against step, metric against step), drawn with matplotlib and written atomically."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from latentcat.files import atomic_path  # noqa: E402


def save_curves(path, series: dict[str, tuple[list, list]], xlabel: str, ylabel: str, title: str,
                log_y: bool = False, faint: dict[str, tuple[list, list]] | None = None) -> None:
    """One line per entry of `series` ({label: (xs, ys)}); `faint` entries are drawn thin and unlabelled."""
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    for xs, ys in (faint or {}).values():
        ax.plot(xs, ys, color="0.75", linewidth=0.8)
    for label, (xs, ys) in series.items():
        ax.plot(xs, ys, label=label, linewidth=2)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    if log_y:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    if series:
        ax.legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
