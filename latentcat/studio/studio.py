"""What the studio's visitors share (the models, loaded once) and what each keeps to itself (a Visitor: its
own temporary folder and results). Free of Gradio: the page holds a Studio and one Visitor per browser."""
import dataclasses
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from inversion.invert import InversionConfig
from latentcat.errors import UserError
from latentcat.inputs import Input, read_inputs
from latentcat.jobs.draw import DEFAULTS as DRAW_DEFAULTS
from latentcat.session import Session, choose_space
from latentcat.studio.editing import DirectionsCache
from latentcat.studio.options import StudioOptions


def refuse(errors: list[dict]) -> None:
    """A job's first failed input (its summary's error entry) as a UserError, the page's one-line message."""
    if errors:
        raise UserError(errors[0]["error"], errors[0]["input"])


@dataclass
class Visitor:
    """One browser session's state: its own folder (made on first use, inside the studio's), the latest result
    of each tab, and a ticket count per action, so a newer request (a new stroke, a new photo) supersedes the
    running one."""
    root: Path
    tickets: dict[str, int] = field(default_factory=dict)
    results: dict[str, object] = field(default_factory=dict)
    folder: Path | None = None
    runs: int = 0

    def supersede(self, action: str) -> int:
        """A new request of `action`: the running one is now outdated. Returns the new request's ticket."""
        self.tickets[action] = self.tickets.get(action, 0) + 1
        return self.tickets[action]

    def is_current(self, action: str, ticket: int) -> bool:
        return self.tickets.get(action, 0) == ticket

    def own_folder(self) -> Path:
        if self.folder is None:
            self.folder = Path(tempfile.mkdtemp(prefix="visitor-", dir=self.root))
        return self.folder

    def fresh_folder(self, action: str) -> Path:
        """An empty folder for one run of `action` (its files for download); the previous run's is removed."""
        for old in self.own_folder().glob(f"{action}-*"):
            shutil.rmtree(old, ignore_errors=True)
        self.runs += 1
        return self.folder / f"{action}-{self.runs}"

    def fresh_picture_folder(self, action: str) -> Path:
        """Where one run of `action` writes the pictures it streams; the previous run's are removed (runs take
        turns on the model's worker, and Gradio copied each picture into its cache as it was sent). Apart from
        fresh_folder: a download made while a newer run streams must not remove that run's pictures."""
        folder = self.picture_folder(action)
        shutil.rmtree(folder, ignore_errors=True)
        return folder

    def picture_folder(self, action: str) -> Path:
        """Where the current run of `action` writes its pictures (a live preview adds to its run's)."""
        return self.own_folder() / f"pictures-{action}"

    def close(self) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


@dataclass
class Studio:
    """The models every visitor shares (generator, encoder, loss and metric networks, in one Session), the
    directions found for each generator edited with, and this server's temporary folder, which holds each
    visitor's folder and is removed when the server stops."""
    session: Session
    options: StudioOptions
    root: Path
    directions: DirectionsCache = field(default_factory=DirectionsCache)

    @staticmethod
    def open(session: Session, options: StudioOptions) -> "Studio":
        return Studio(session, options, Path(tempfile.mkdtemp(prefix="latentcat-studio-")))

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def new_visitor(self) -> Visitor:
        return Visitor(self.root)

    @property
    def G(self):
        return self.session.G

    def inversion(self, steps: int) -> Session:
        """The session that inverts photos for the page: the encoder's guess (the mean where there is no
        encoder), then `steps` of refinement with the command line's loss and optimiser."""
        return self.session.with_run(self.session.start.init, int(steps))

    def draw_config(self, steps: int) -> InversionConfig:
        """The draw command's settings (w, a pull toward w_avg, the loss read at the generator's size), with
        `steps` steps."""
        config = self.session.config
        return dataclasses.replace(
            config, space=choose_space(self.G, None, DRAW_DEFAULTS["space"]),
            weights=dataclasses.replace(config.weights, mean_distance=DRAW_DEFAULTS["mean_weight"]),
            perceptual_upsample=DRAW_DEFAULTS["perceptual_upsample"],
            optimizer=dataclasses.replace(config.optimizer, steps=int(steps)))

    def read(self, paths: list[str | None], what: str, allow_latents: bool = False,
             session: Session | None = None) -> list[Input]:
        """Uploaded files through the command line's checks (formats, decompression bombs, latents of this
        generator, or of `session`'s: a tuned photo's); the first bad one is a UserError naming the file as the
        visitor named it."""
        if not paths or any(p is None for p in paths):
            raise UserError(f"choose {what} first")
        inputs, errors = read_inputs(session or self.session, paths, allow_latents)
        refuse(errors)
        return inputs
