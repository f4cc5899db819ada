"""A session: the loaded generator and everything the inversion jobs share (encoder, loss and metric networks,
where each photo starts, batch and recording settings), built once from plain settings."""
import dataclasses
import functools
from dataclasses import dataclass
from pathlib import Path

import torch

from generators import check_space, fingerprint
from inversion.code import Code
from inversion.feature_networks import DEFAULT_PERCEPTUAL, FeatureNetwork, build_feature_network, metric_backbone_for
from inversion.invert import InversionConfig
from inversion.latents import INITS, initial_code
from inversion.precision import in_precision
from inversion.tuning import TuningConfig
from latentcat.auto_batch import auto_batch_size
from latentcat.checkpoints import read_state_dict
from latentcat.encoder_files import load_encoder
from latentcat.errors import UserError, user_facing
from latentcat.framing import FramingConfig
from latentcat.generator_files import describe_generator, generator_parent, load_generator, require_wplus
from latentcat.inputs import Input
from latentcat.latent_files import SUFFIX, load_code
from latentcat.shards import Shards
from latentcat.shipped import SHIPPED_ENCODER, SHIPPED_GENERATOR


def encoder_for(generator: str, encoder: str | None) -> str | None:
    """The encoder to use: the one asked for, else the shipped one with the shipped generator (an encoder fits
    one generator: for a generator fine-tuned from the shipped one, such as the grumpy cat's, its encoder's start
    measured worse than the mean's, checkpoints/README.md, so it is used there only when asked for), else none."""
    if encoder:
        return encoder
    if Path(generator).resolve() == SHIPPED_GENERATOR.resolve() and SHIPPED_ENCODER.is_file():
        return str(SHIPPED_ENCODER)
    return None


@dataclass(frozen=True)
class SessionSettings:
    """Everything a session is built from (the command line's flags, or a web page's controls)."""
    generator: str = str(SHIPPED_GENERATOR)
    device: str = "cpu"
    encoder: str | None = None
    encoder_iterations: int | None = None  # passes of an iterative encoder (None: as many as it was trained with)
    inversion: InversionConfig | None = InversionConfig()  # None: the command inverts nothing (sample)
    tuning: TuningConfig = TuningConfig()  # generator tuning after the latent stage (0 steps: none)
    space: str | None = None              # None: `default_space` where the generator has it, else its last space
    default_space: str = InversionConfig.space
    init: str | None = None               # mean | random | encoder | FILE | DIR; None: the encoder if any, else mean
    perceptual: str = DEFAULT_PERCEPTUAL
    perceptual_layers: tuple[str, ...] | None = None
    vgg_weights: str | None = None
    alexnet_weights: str | None = None
    metric_net: str | None = None         # None: a network other than the loss's
    batch_size: int | str = 8             # or "auto": resolved when the session opens (latentcat.auto_batch)
    save_every: int = 0
    record_every: int = 0
    progress: bool = True
    framing: FramingConfig = FramingConfig()


@dataclass(frozen=True)
class Start:
    """Where each photo's optimisation begins, decoded once from --init."""
    init: str                              # mean | random | encoder | a latent file | a folder of them
    code: Code | None = None               # a latent file's code
    by_stem: dict[str, Code] | None = None  # a folder's codes, by the photo stem they were inverted from

    def has(self, inp: Input) -> bool:
        return self.by_stem is None or inp.stem in self.by_stem

    def codes(self, session: "Session", batch: list[Input], images: torch.Tensor) -> Code:
        G, space = session.G, session.config.space
        if self.init in INITS:
            return initial_code(G, space, self.init, len(images), session.config.seed)
        if self.init == "encoder":
            with torch.no_grad():  # in the inversion's precision; the codes come back in fp32
                ws = in_precision(session.config.precision, session.device, session.encoder.encode, images,
                                  session.G.render, session.settings.encoder_iterations)
            return Code(ws if space == "w+" else ws.mean(dim=1), space, generator=session.fingerprint)
        if self.by_stem is not None:
            return Code.cat([self.by_stem[inp.stem] for inp in batch])
        return Code(self.code.latent.expand(len(images), *self.code.latent.shape[1:]).clone(), space,
                    tuple(n.expand(len(images), -1, -1, -1).clone() for n in self.code.noise)
                    if self.code.noise else None, self.code.generator)


@dataclass
class Session:
    G: torch.nn.Module
    generator_path: str
    fingerprint: str
    device: torch.device
    settings: SessionSettings
    config: InversionConfig | None = None
    network: FeatureNetwork | None = None
    metric_network: FeatureNetwork | None = None
    encoder: torch.nn.Module | None = None
    start: Start | None = None
    shards: Shards = Shards()  # the processes this run is split across (one, unless `accelerate launch`ed)

    @functools.cached_property
    def parent(self) -> str | None:
        """The generator this one was fine-tuned or tuned from, whose latents and encoder it takes."""
        return generator_parent(self.generator_path)

    @property
    def batch_size(self) -> int:
        return self.settings.batch_size

    @property
    def tuning(self) -> TuningConfig:
        return self.settings.tuning

    def generator_info(self) -> dict:
        return describe_generator(self.generator_path, self.G)

    def describe(self) -> dict:
        """The settings summary.json records."""
        return {"inversion": dataclasses.asdict(self.config), "tuning": dataclasses.asdict(self.tuning),
                "init": self.start.init,
                "perceptual": self.network.name if self.network else None,
                "perceptual_layers": list(self.network.layers) if self.network else None,
                "metric_net": self.metric_network.name, "batch_size": self.batch_size,
                "encoder": encoder_for(self.settings.generator, self.settings.encoder), "device": str(self.device),
                "framing": dataclasses.asdict(self.settings.framing)}

    def with_run(self, init: str, steps: int, lr: float | None = None, tune_steps: int = 0,
                 encoder_iterations: int | None = None) -> "Session":
        """The same session with another start, number of latent steps (and learning rate, if given), number of
        tuning steps and encoder passes."""
        optimizer = dataclasses.replace(self.config.optimizer, steps=steps,
                                        **({"lr": lr} if lr is not None else {}))
        settings = dataclasses.replace(self.settings, tuning=dataclasses.replace(self.tuning, steps=tune_steps),
                                       encoder_iterations=encoder_iterations or self.settings.encoder_iterations)
        return dataclasses.replace(self, start=Start(init), config=dataclasses.replace(self.config, optimizer=optimizer),
                                   settings=settings)


def device_from(name: str) -> torch.device:
    """The torch device --device names, checked to exist here: a one-line error says what is available."""
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise UserError(f"--device {name} is not a device name: use cpu, cuda or cuda:N") from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise UserError(f"--device {name}: this machine has no usable CUDA GPU (torch {torch.__version__}); "
                            "use --device cpu")
        if device.index is not None and device.index >= count:
            raise UserError(f"--device {name}: this machine has {count} CUDA GPU(s), cuda:0 to cuda:{count - 1}")
    elif device.type != "cpu":
        raise UserError(f"--device {name}: only cpu and cuda devices are supported")
    return device


def choose_space(G, space: str | None, default_space: str) -> str:
    """The space asked for, else `default_space` where G has it, else G's last space (a DCGAN: z)."""
    space = space or (default_space if default_space in G.latent_spaces else G.latent_spaces[-1])
    user_facing(check_space, G, space)
    return space


def read_start(session: Session, init: str) -> Start:
    if init in INITS or init == "encoder":
        if init == "encoder" and session.encoder is None:
            raise UserError("--init encoder needs a trained encoder (--encoder CKPT)")
        if init == "encoder" and session.config.space == "z":
            raise UserError("the encoder predicts w+ codes: use --latent w+ (or w) with --init encoder")
        return Start(init)
    path = Path(init)
    if path.is_dir():
        by_stem = {}
        for file in sorted(path.glob(f"*{SUFFIX}")):
            stem = Input.stem_of(file.name.removesuffix(SUFFIX))
            if stem in by_stem:
                raise UserError(f"holds two latent files for photo {stem!r}", path)
            by_stem[stem] = start_code(session, file)
        if not by_stem:
            raise UserError(f"holds no latent files (*{SUFFIX}) to start from", path)
        return Start(init, by_stem=by_stem)
    if path.exists():
        return Start(init, code=start_code(session, path))
    raise UserError(f"--init must be mean, random, encoder, a latent file or a folder of them; {init} is none of "
                    "them")


def start_code(session: Session, path) -> Code:
    """A latent file to start from, which must be in the space being optimised."""
    code = load_code(path, session.G, session.fingerprint, session.parent)
    if code.space != session.config.space:
        raise UserError(f"holds a {code.space} latent, but --latent is {session.config.space}", path)
    return code


def build_network(name: str, layers, settings: SessionSettings, device) -> FeatureNetwork:
    weights = {key: read_state_dict(path) if path else None
               for key, path in (("vgg_weights", settings.vgg_weights), ("alexnet_weights", settings.alexnet_weights))}
    return user_facing(build_feature_network, name, layers, device=device, **weights)


def open_session(settings: SessionSettings, shards: Shards = Shards()) -> Session:
    """Load what `settings` name, checking every file and setting before any work starts."""
    device = device_from(shards.device(settings.device))
    G = load_generator(settings.generator, device)
    session = Session(G=G, generator_path=settings.generator, fingerprint=fingerprint(G), device=device,
                      settings=settings, shards=shards)
    if settings.inversion is None:
        return session
    space = choose_space(G, settings.space, settings.default_space)
    session.config = user_facing(dataclasses.replace, settings.inversion, space=space)
    encoder = encoder_for(settings.generator, settings.encoder)
    if encoder:
        require_wplus(G, settings.generator, "an encoder")
        session.encoder = load_encoder(encoder, G, session.fingerprint, device, parent=session.parent)
    init = settings.init or ("encoder" if session.encoder else "mean")
    if init == "mean" and space == "z":
        print(f"note: z has no usable mean (z = 0 is a dead point); starting from random z (seed "
              f"{settings.inversion.seed})")
    for name in ("save_every", "record_every"):
        if getattr(settings, name) < 0:
            raise UserError(f"--{name.replace('_', '-')} must be >= 0")
    if session.config.weights.perceptual > 0:
        session.network = build_network(settings.perceptual, settings.perceptual_layers, settings, device)
    metric = settings.metric_net or metric_backbone_for(settings.perceptual if session.network else None)
    session.metric_network = build_network(metric, None, settings, device)
    session.start = read_start(session, init)
    if settings.batch_size == "auto":  # every process of a split run must cut the same batches: the smallest wins
        size = min(shards.exchange(auto_batch_size(session)))
        session.settings = dataclasses.replace(settings, batch_size=size)
    return session
