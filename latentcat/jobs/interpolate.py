"""interpolate: morph between two photos or saved latents (linear in w and w+, spherical in z)."""
from dataclasses import dataclass

from inversion.edits import interpolation_frames
from latentcat.batches import codes_of, shared_generator, write_inverted
from latentcat.images import image_grid, to_pil
from latentcat.inputs import read_inputs
from latentcat.outputs import Summary

DEFAULTS = {"tune_per": "batch"}  # photos tuned together share one generator, so their codes combine


@dataclass(frozen=True)
class InterpolateOptions:
    frames: int = 31      # both ends included
    fps: float = 12.0     # of the GIF

    def __post_init__(self):
        if self.frames < 2:
            raise ValueError(f"--frames must be at least 2 (both ends), got {self.frames}")
        if not self.fps > 0:
            raise ValueError(f"--fps must be > 0, got {self.fps}")


def run(session, paths: list[str], options: InterpolateOptions, out) -> Summary:
    inputs, errors = read_inputs(session, paths, allow_latents=True)
    results, failed = codes_of(session, inputs, out)
    summary = Summary("interpolate", {**session.describe(), "frames": options.frames}, session.generator_info(),
                      errors=errors + failed)
    if len(results) < 2:
        return summary
    written = {}
    summary.items = [write_inverted(out, r, session.generator_path, written) for r in results]
    G = shared_generator(session, results)
    a, b = (r.code for r in results)
    a, b = a.to(session.device), b.to(session.device)
    if a.space != b.space:  # one space for both: w+ holds every other
        a, b = a.as_wplus(G).detach().to(session.device), b.as_wplus(G).detach().to(session.device)
    summary.settings["space"] = a.space
    frames = interpolation_frames(G, a, b, options.frames).cpu()
    pictures = [to_pil(f) for f in frames]
    summary.extra["frames"] = [out.png(f"frames/frame-{i:03d}.png", picture) for i, picture in enumerate(pictures)]
    summary.extra["gif"] = out.gif("interpolation.gif", pictures, 1 / options.fps)
    summary.extra["filmstrip"] = out.png("filmstrip.png", image_grid(frames, nrow=len(frames)))
    return summary
