"""Inference entry point: sample cats, invert photos, interpolate, draw from scribbles, mix styles, compare every
way of inverting, find semantic directions and edit along them; or do it in the browser (studio).

Every command writes PNGs and a summary.json (command, generator, settings, items, errors) into --out, never
overwrites files it did not write, and exits non-zero only when nothing could be done.
"""
import argparse
import dataclasses
import sys

from generators import SPACES
from inversion.directions import METHODS
from inversion.feature_networks import BACKBONES
from inversion.invert import InversionConfig
from inversion.losses import LossWeights
from inversion.optimize import OPTIMIZERS, OptimizerConfig
from inversion.precision import PRECISIONS
from inversion.tuning import DEFAULT_LR as DEFAULT_TUNE_LR, SCHEDULES, TUNE_PER, TuningConfig
from latentcat import cli
from latentcat.framing import ALIGN_MODES, FramingConfig
from latentcat.inputs import expand_inputs
from latentcat.jobs import compare, directions, directions_grid, draw, edit, execute, interpolate, invert, mix, sample
from latentcat.session import SessionSettings, open_session
from latentcat.shards import Shards
from latentcat.studio.options import StudioOptions

OPTIMIZER, LOSS, INVERSION = cli.defaults(OptimizerConfig), cli.defaults(LossWeights), cli.defaults(InversionConfig)
SESSION, TUNING = cli.defaults(SessionSettings), cli.defaults(TuningConfig)
FRAMING = cli.defaults(FramingConfig)


def add_common(p):
    p.add_argument("--generator", default=SESSION.generator, metavar="CKPT",
                   help="generator .safetensors, or an NVlabs .pkl / rosinality .pt (converted on the fly) "
                        "(default: the shipped checkpoints/stylegan2-cat64.safetensors)")
    p.add_argument("--device", default=SESSION.device, help="torch device, e.g. cpu or cuda")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")


def add_encoder_flag(group):
    group.add_argument("--encoder", metavar="CKPT",
                       help="trained w+ encoder (train.py encoder) (default: the shipped encoder, when --generator "
                            "is the shipped generator it was trained for)")
    group.add_argument("--encoder-iterations", type=cli.positive_int, metavar="K",
                       help="passes of an iterative (ReStyle) encoder (default: as many as it was trained with)")


def add_framing(p, paste_back: bool = True):
    """How photos are framed: the flags of every command that reads photos."""
    g = p.add_argument_group("framing photos")
    g.add_argument("--align", choices=ALIGN_MODES, default=FRAMING.align,
                   help="auto: find the cat's face and frame it as the generator's training photos are (eyes level, "
                        "at the same height and size), centre-cropping where no face is found; off: centre crop")
    g.add_argument("--face", type=cli.positive_int, default=FRAMING.face, metavar="K",
                   help="with several cats in a photo, frame the K-th largest face")
    if paste_back:
        g.add_argument("--paste-back", action="store_true",
                       help="also write each reconstruction pasted back into the full photo (NNN-photo-pasted.png)")


def framing_config(args) -> FramingConfig:
    if not hasattr(args, "align"):  # a command that reads no photos
        return FramingConfig()
    return cli.user_facing(FramingConfig, align=args.align, face=args.face,
                           paste_back=getattr(args, "paste_back", False))


def add_inversion(p, defaults: dict, own_starts: bool = False):
    """The engine's flags, shared by invert, interpolate, draw, mix and compare; `defaults` are the command's
    own (its steps, space, ...), the rest come from the engine's configs. `own_starts`: the command picks its
    starts itself, so it offers no --init."""
    space = defaults.get("space", SESSION.default_space)
    p.set_defaults(default_space=space, init=None, encoder=None, encoder_iterations=None)
    g = p.add_argument_group("latent and start")
    g.add_argument("--latent", choices=SPACES, help=f"latent space to optimise (default: {space}; z for a DCGAN)")
    if not own_starts:
        g.add_argument("--init", metavar="{mean,random,encoder,FILE,DIR}",
                       help="start (default: encoder with --encoder, else mean): w_avg (in z, whose mean 0 is a "
                            "dead point: a seeded random z), a seeded random sample, the encoder, a saved latent "
                            "file, or an earlier run's folder (each photo starts from its own NNN-photo latent)")
        add_encoder_flag(g)
    g.add_argument("--optimize-noise", action="store_true",
                   help="also optimise StyleGAN2's noise maps (with NVlabs' noise regularisation)")
    g.add_argument("--seed", type=int, default=INVERSION.seed, help="seed for random starts and latent noise")
    g = p.add_argument_group("optimiser")
    g.add_argument("--optimizer", choices=OPTIMIZERS, default=OPTIMIZER.name, help="Adam (NVlabs schedule) or LBFGS")
    g.add_argument("--steps", type=int, default=defaults.get("steps", OPTIMIZER.steps),
                   help="optimisation steps (LBFGS: iterations)")
    g.add_argument("--lr", type=float, help="learning rate (default: 0.1 Adam, 1.0 LBFGS)")
    g.add_argument("--lbfgs-history", type=cli.positive_int, default=OPTIMIZER.lbfgs_history,
                   help="LBFGS curvature pairs kept")
    g.add_argument("--warmup", type=float, default=OPTIMIZER.warmup, help="Adam: fraction of steps of warm-up")
    g.add_argument("--rampdown", type=float, default=OPTIMIZER.rampdown,
                   help="Adam: final fraction of steps of cosine ramp-down")
    g.add_argument("--latent-noise", type=float, default=OPTIMIZER.latent_noise,
                   help="Adam: initial latent noise in units of the w spread (NVlabs uses 0.05)")
    g.add_argument("--latent-noise-ramp", type=float, default=OPTIMIZER.latent_noise_ramp,
                   help="Adam: fraction of steps the noise lasts")
    g.add_argument("--batch-size", type=cli.positive_int_or_auto, default=SESSION.batch_size,
                   help="images optimised together (LBFGS couples a batch: use 1 for independent results); auto: "
                        "on a GPU the largest batch that fits its free memory, measured on one probe step (8 on a "
                        "CPU)")
    g.add_argument("--precision", choices=PRECISIONS, default=INVERSION.precision,
                   help="bf16: the generator, the loss network and the encoder compute in bfloat16 (autocast), for "
                        "GPUs with bf16 units (CPUs without them run it far slower); latents, optimiser state, loss "
                        "sums and the final render stay fp32")
    g.add_argument("--compile", action="store_true",
                   help="torch.compile the latent step's render and loss: 70-100 s of compiling first, then a "
                        "step 1.1x (batch 1) to 1.3x (batch 16) as fast on a CPU, for long runs; tuning stays eager")
    g = p.add_argument_group("generator tuning after the latent stage (PTI; Deep Generative Prior)")
    g.add_argument("--tune-generator", type=int, default=defaults.get("tune_steps", TUNING.steps), metavar="STEPS",
                   help="tune the generator's rendering weights on each photo for STEPS steps (0: off); writes "
                        "NNN-photo.generator.safetensors, only what changed from --generator")
    g.add_argument("--tune-rank", type=int, default=TUNING.rank, metavar="R",
                   help="rank of the change tuning makes to each StyleGAN2 conv (LoRA): a photo's generator file "
                        "holds its factors (0.37 MB at rank 8 for the shipped 64 px generator); 0: every weight of "
                        "the tuned blocks changes (dense: 12.5 MB a photo; what a DCGAN always gets)")
    g.add_argument("--tune-lr", type=float, default=TUNING.lr,
                   help="Adam learning rate of the change (default: "
                        f"{', '.join(f'{v:g} {k}' for k, v in DEFAULT_TUNE_LR.items())}; chosen on validation photos "
                        "at 64 px)")
    g.add_argument("--tune-pixel-weight", type=float, default=TUNING.pixel_weight, metavar="W",
                   help="weight of the pixel loss while tuning (default: --pixel-weight)")
    g.add_argument("--tune-warmup", type=float, default=TUNING.warmup, help="fraction of tuning steps of warm-up")
    g.add_argument("--tune-rampdown", type=float, default=TUNING.rampdown,
                   help="final fraction of tuning steps of cosine ramp-down")
    g.add_argument("--tune-layers", type=cli.positive_int, default=TUNING.from_resolution, metavar="FROM_PX",
                   help="tune the blocks rendering at FROM_PX and finer (4: every block)")
    g.add_argument("--tune-schedule", choices=SCHEDULES, default=TUNING.schedule,
                   help="progressive: unlock blocks coarse to fine over the first half of the steps (DGP)")
    g.add_argument("--tune-latent", action="store_true", help="also optimise the code while tuning (DGP; PTI "
                                                                "keeps the latent stage's code fixed)")
    g.add_argument("--tune-latent-lr", type=float, default=TUNING.latent_lr, help="with --tune-latent")
    g.add_argument("--locality-weight", type=float, default=TUNING.locality_weight,
                   help="PTI's locality regulariser: renders between the code and random samples must not change")
    g.add_argument("--locality-reach", type=float, default=TUNING.locality_reach,
                   help="where those renders lie between the code (0) and a random sample (1)")
    g.add_argument("--locality-samples", type=cli.positive_int, default=TUNING.locality_samples,
                   help="random codes the regulariser renders per photo and step (more: steadier, slower)")
    g.add_argument("--tune-per", choices=TUNE_PER, default=defaults.get("tune_per", TUNING.per),
                   help="one tuned generator per photo, or one for the whole batch")
    g.add_argument("--tune-stop", type=float, metavar="LPIPS",
                   help="stop tuning a photo once its perceptual loss is below this (PTI: 0.06)")
    g = p.add_argument_group("loss (each weight may be 0)")
    g.add_argument("--pixel", choices=("l1", "l2"), default=f"l{INVERSION.pixel_p}", help="pixel loss norm")
    g.add_argument("--pixel-weight", type=float, default=LOSS.pixel, help="weight of the pixel loss")
    g.add_argument("--perceptual", choices=BACKBONES, default=SESSION.perceptual,
                   help="perceptual loss network (the encoder's training default too, so refinement continues "
                        "what the encoder learnt)")
    g.add_argument("--perceptual-weight", type=float, default=LOSS.perceptual, help="weight of the perceptual loss")
    g.add_argument("--perceptual-upsample", type=cli.positive_int, metavar="F",
                   default=defaults.get("perceptual_upsample", INVERSION.perceptual_upsample),
                   help="the perceptual network reads images at F times their side (bilinear; at most 256 px): at "
                        "64 px read as they are, it is fooled within tens of steps (1: as they are)")
    g.add_argument("--perceptual-layers", metavar="L1,L2",
                   help="layers, e.g. conv1_1,conv3_2 for vgg16 (default: Image2StyleGAN's for vgg16, "
                        "all five LPIPS taps otherwise)")
    g.add_argument("--vgg-weights", metavar="FILE", help="torchvision ImageNet VGG16 weights, for use offline")
    g.add_argument("--alexnet-weights", metavar="FILE", help="torchvision ImageNet AlexNet weights (lpips-alex)")
    g.add_argument("--latent-change-weight", type=float, default=LOSS.latent_change,
                   help="weight of the L2 change of the latent from its start")
    g.add_argument("--mean-weight", type=float, default=defaults.get("mean_weight", LOSS.mean_distance),
                   help="weight of the L2 distance of the codes to w_avg (0 for a DCGAN's z)")
    g.add_argument("--noise-weight", type=float, default=LOSS.noise, help="noise regularisation (with --optimize-noise)")
    g = p.add_argument_group("measuring and saving")
    g.add_argument("--metric-net", choices=BACKBONES,
                   help="perceptual metric network (default: stlpips-vgg, or stlpips-alex if the loss uses a VGG)")
    g.add_argument("--save-every", type=int, default=SESSION.save_every, metavar="K",
                   help="write frames/ every K steps (0: off)")
    g.add_argument("--record-every", type=int, default=defaults.get("record_every", SESSION.record_every),
                   metavar="K", help="record metrics every K steps into the summary and metrics.png (0: off)")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")


def session_settings(args) -> SessionSettings:
    """The flags of add_common and add_inversion as plain settings."""
    if not hasattr(args, "optimizer"):  # sample: no inversion
        return SessionSettings(generator=args.generator, device=args.device, inversion=None)
    optimizer = cli.user_facing(OptimizerConfig, name=args.optimizer, steps=args.steps, lr=args.lr,
                                lbfgs_history=args.lbfgs_history, warmup=args.warmup, rampdown=args.rampdown,
                                latent_noise=args.latent_noise, latent_noise_ramp=args.latent_noise_ramp)
    weights = cli.user_facing(LossWeights, pixel=args.pixel_weight, perceptual=args.perceptual_weight,
                              latent_change=args.latent_change_weight, mean_distance=args.mean_weight,
                              noise=args.noise_weight)
    inversion = cli.user_facing(InversionConfig, space=args.latent or args.default_space,
                                optimize_noise=args.optimize_noise, weights=weights, pixel_p=int(args.pixel[1]),
                                perceptual_upsample=args.perceptual_upsample,
                                optimizer=optimizer, seed=args.seed, precision=args.precision,
                                compile=args.compile)
    tuning = cli.user_facing(TuningConfig, steps=args.tune_generator, rank=args.tune_rank, lr=args.tune_lr,
                             pixel_weight=args.tune_pixel_weight, warmup=args.tune_warmup,
                             rampdown=args.tune_rampdown, from_resolution=args.tune_layers,
                             schedule=args.tune_schedule, tune_latent=args.tune_latent, latent_lr=args.tune_latent_lr,
                             locality_weight=args.locality_weight, locality_reach=args.locality_reach,
                             locality_samples=args.locality_samples,
                             per=args.tune_per, stop_lpips=args.tune_stop)
    return SessionSettings(
        generator=args.generator, device=args.device, encoder=args.encoder,
        encoder_iterations=args.encoder_iterations, inversion=inversion, tuning=tuning, space=args.latent,
        default_space=args.default_space, init=args.init, perceptual=args.perceptual,
        perceptual_layers=tuple(args.perceptual_layers.split(",")) if args.perceptual_layers else None,
        vgg_weights=args.vgg_weights, alexnet_weights=args.alexnet_weights, metric_net=args.metric_net,
        batch_size=args.batch_size, save_every=args.save_every, record_every=args.record_every,
        progress=not args.no_progress, framing=framing_config(args))


def command(sub, name: str, help: str, description: str, job, options=lambda args: None):
    """A subcommand running `job.run` on its inputs with the options `options(args)` builds."""
    p = sub.add_parser(name, formatter_class=cli.formatter, help=help, description=description)
    p.set_defaults(job=job, options=options, inputs=[], expand=False)
    return p


def add_sample(sub):
    O = cli.defaults(sample.SampleOptions)
    p = command(sub, "sample", "draw random cats from a generator",
                "Write a grid, one PNG per image and summary.json. A seed always gives the same images "
                "(StyleGAN2 noise is fixed).", sample,
                lambda a: cli.user_facing(sample.SampleOptions, num=a.num, seed=a.seed, truncation=a.truncation))
    add_common(p)
    p.add_argument("--num", type=cli.positive_int, default=O.num, help="number of images")
    p.add_argument("--seed", type=int, default=O.seed, help="random seed")
    p.add_argument("--truncation", type=float, default=O.truncation,
                   help="StyleGAN2 truncation psi, from -1 to 2 (1: none, 0: the mean)")


def add_invert(sub):
    p = command(sub, "invert", "find the latent of each photo (projection)",
                "Optimise a latent per photo so the generator reproduces it. Writes, per photo, the reconstruction "
                "and its latent (.latent.safetensors, stamped with space and generator), plus grid.png (photo | "
                "reconstruction), loss.png and summary.json. Each batch's files and summary entries are written "
                "as soon as it finishes, so an interrupted run keeps them: repeat the command with --resume.",
                invert, lambda a: invert.InvertOptions(resume=a.resume))
    p.add_argument("inputs", nargs="+", metavar="IMAGE", help="photos, or folders of photos")
    p.set_defaults(expand=True)
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted run into the same --out with the same flags: photos it finished "
                        "are kept, not inverted again")
    add_common(p)
    add_framing(p)
    add_inversion(p, invert.DEFAULTS)


def add_interpolate(sub):
    O = cli.defaults(interpolate.InterpolateOptions)
    p = command(sub, "interpolate", "morph between two photos or latents",
                "Invert two photos (or read two saved latents) and interpolate: linearly in w and w+, spherically "
                "in z. Writes interpolation.gif, filmstrip.png, frames/ and both reconstructions with their latents.",
                interpolate,
                lambda a: cli.user_facing(interpolate.InterpolateOptions, frames=a.frames, fps=a.fps))
    p.add_argument("inputs", nargs=2, metavar="A_B", help="two photos or .latent.safetensors files")
    add_common(p)
    p.add_argument("--frames", type=int, default=O.frames, help="frames, both ends included (at least 2)")
    p.add_argument("--fps", type=float, default=O.fps, help="GIF frames per second")
    add_framing(p)
    add_inversion(p, interpolate.DEFAULTS)


def add_draw(sub):
    O = cli.defaults(draw.DrawOptions)
    p = command(sub, "draw", "turn coloured scribbles into cats",
                "Fit the generator to each sketch only where it was drawn: alpha is the stroke mask of an RGBA "
                "sketch; for RGB, strokes are what differs from the background. Masked pixel + masked perceptual "
                "losses, plus L2 toward w_avg. Writes per sketch a grid (sketch | mask | results) and the best "
                "result's latent.", draw, lambda a: cli.user_facing(draw.DrawOptions, samples=a.samples))
    p.add_argument("inputs", nargs="+", metavar="SKETCH", help="sketch images, or folders of them")
    p.set_defaults(expand=True)
    add_common(p)
    p.add_argument("--samples", type=cli.positive_int, default=O.samples,
                   help=f"1: start from the mean; K > 1: K random starts (truncation psi {draw.START_TRUNCATION:g}: "
                        "typical cats), all kept, best first")
    add_inversion(p, draw.DEFAULTS, own_starts=True)


def add_mix(sub):
    p = command(sub, "mix", "style crossover and latent arithmetic",
                "CONTENT STYLE: Image2StyleGAN crossover, w+ layers before L from CONTENT, the rest from STYLE "
                "(L=0: pure style; L=num_ws: pure content). With --arithmetic and three inputs A B C: renders "
                "A + (B - C). Inputs are photos (inverted first) or saved latents.", mix,
                lambda a: mix.MixOptions(layers=tuple(a.layer) if a.layer else None, arithmetic=a.arithmetic))
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="CONTENT STYLE, or A B C with --arithmetic")
    add_common(p)
    p.add_argument("--layer", type=int, action="append", metavar="L",
                   help="crossover layer; repeat for several (default: every layer from 0 to num_ws)")
    p.add_argument("--arithmetic", action="store_true", help="three inputs A B C: render A + (B - C)")
    add_framing(p)
    add_inversion(p, mix.DEFAULTS)


def add_compare(sub):
    O = cli.defaults(compare.CompareOptions)
    p = command(sub, "compare", "every way of inverting, side by side",
                "Invert the same photos with each of --methods, with the same loss: encoder (the encoder alone; "
                "encoder-1: an iterative encoder's first pass), hybrid (encoder + --refine-steps latent steps), "
                "tuned (encoder + --tuned-refine-steps latent steps + --tune-generator tuning steps), baseline "
                "(--baseline-steps from the mean), pti (--pti-steps from the mean + tuning). Writes summary.json "
                "(methods.*: mean/median mse, psnr, ssim, lpips, seconds per image, steps of each kind, curves, "
                "and for tuned methods how far tuning moved random samples' renders), comparison.png (photo | "
                "each method) and curve.png (LPIPS and PSNR against steps and against seconds).", compare,
                lambda a: cli.user_facing(
                    compare.CompareOptions, methods=tuple(m for m in a.methods.split(",") if m),
                    refine_steps=a.refine_steps, refine_lr=a.refine_lr, tuned_refine_steps=a.tuned_refine_steps,
                    tuned_refine_lr=a.tuned_refine_lr,
                    tune_steps=a.tune_generator, baseline_steps=a.baseline_steps, pti_steps=a.pti_steps,
                    drift_samples=a.drift_samples))
    p.add_argument("inputs", nargs="+", metavar="IMAGE", help="photos, or folders of photos")
    p.set_defaults(expand=True)
    add_common(p)
    p.add_argument("--methods", default=",".join(O.methods), help=f"some of {', '.join(compare.METHODS)}")
    p.add_argument("--refine-steps", type=int, default=O.refine_steps, help="hybrid: latent steps after the encoder")
    p.add_argument("--refine-lr", type=float, help="hybrid: learning rate of those steps (default: --lr)")
    p.add_argument("--tuned-refine-steps", type=int, default=O.tuned_refine_steps,
                   help="tuned: latent steps after the encoder, before tuning")
    p.add_argument("--tuned-refine-lr", type=float, default=O.tuned_refine_lr,
                   help="tuned: learning rate of those steps (a start near the answer needs no large moves)")
    p.add_argument("--baseline-steps", type=int, default=O.baseline_steps, help="baseline: latent steps from the mean")
    p.add_argument("--pti-steps", type=int, default=O.pti_steps, help="pti: latent steps from the mean before tuning")
    p.add_argument("--drift-samples", type=int, default=O.drift_samples,
                   help="tuned methods: random samples rendered by the parent and each tuned generator (0: not "
                        "measured)")
    add_framing(p, paste_back=False)
    add_inversion(p, compare.DEFAULTS, own_starts=True)
    add_encoder_flag(p)


def add_directions(sub):
    O = cli.defaults(directions.DirectionsOptions)
    p = command(sub, "directions", "find semantic directions in w+ (SeFa, GANSpace, difference of two sets)",
                "Write DIR/directions.safetensors (unit directions per w+ layer, best first, their scores, the method "
                "and settings, the generator's fingerprint) and summary.json (per direction its score and how it "
                "spreads over the w+ layers). sefa: eigenvectors of the chosen layers' style affine weights "
                "(score: eigenvalue); ganspace: principal components of mapped w (score: variance); difference: "
                "the mean code of --positive minus that of --negative, per w+ layer (score: distance between the "
                "means; also writes means.png, negative | positive mean). Photos are encoded (--steps N refines "
                "them); latent files are read as they are.", directions,
                lambda a: cli.user_facing(directions.DirectionsOptions, method=a.method, layers=a.layers, num=a.num,
                                          samples=a.samples, seed=a.seed, positive=a.positive, negative=a.negative))
    add_common(p)
    p.add_argument("--method", choices=METHODS, default=O.method, help="how to find the directions")
    p.add_argument("--layers", type=cli.layer_list, metavar="L",
                   help="w+ layers, e.g. 0-3 or 0,2,5-7 (sefa: whose weights to factorise); edits go there by "
                        "default (default: all)")
    p.add_argument("--num", type=cli.positive_int, default=O.num, help="directions kept (sefa, ganspace)")
    p.add_argument("--samples", type=cli.positive_int, default=O.samples, help="ganspace: mapped w samples (seeded by --seed)")
    p.add_argument("--positive", metavar="DIR", help="difference: photos or latent files with the attribute")
    p.add_argument("--negative", metavar="DIR", help="difference: photos or latent files without it")
    add_framing(p, paste_back=False)
    add_inversion(p, directions.DEFAULTS)


def add_edit(sub):
    O = cli.defaults(edit.EditOptions)
    p = command(sub, "edit", "move photos or latents along a direction",
                "Invert each photo (or read a saved latent) and move its code along direction --index of "
                "--directions by each of --strengths, on the w+ layers --layers (default: those the directions were "
                "found on; the others stay exactly as they were, and strength 0 is the input itself). Writes per "
                "input NNN-name-strip.png (strengths left to right), NNN-name.gif (a sweep there and back), the "
                "edited latents, the reconstruction and its latent, plus grid.png (input | strip).", edit,
                lambda a: cli.user_facing(edit.EditOptions, directions=a.directions, index=a.index,
                                          strengths=a.strengths, layers=a.layers, frames=a.frames, fps=a.fps))
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="photos, folders of photos, or .latent.safetensors")
    p.set_defaults(expand=True)
    add_common(p)
    add_direction_flags(p, O)
    p.add_argument("--index", type=int, default=O.index, help=f"which direction, 0 being the best scored (default: {O.index})")
    p.add_argument("--frames", type=int, default=O.frames, help="GIF frames from the smallest to the largest strength")
    p.add_argument("--fps", type=float, default=O.fps, help="GIF frames per second")
    add_framing(p, paste_back=False)
    add_inversion(p, edit.DEFAULTS)


def add_direction_flags(p, O, positional: bool = False):
    """--directions (or the positional DIRECTIONS), --strengths and --layers of edit and directions-grid."""
    cli.accept_negative_lists(p)
    what = "a directions file, or the folder `infer.py directions` wrote"
    if positional:
        p.add_argument("directions", metavar="DIRECTIONS", help=what)
    else:
        p.add_argument("--directions", required=True, metavar="FILE", help=what)
    p.add_argument("--strengths", type=cli.float_list, default=O.strengths, metavar="S1,S2",
                   help=f"strengths, in units of w distance per layer (default: {','.join(f'{s:g}' for s in O.strengths)})")
    p.add_argument("--layers", type=cli.layer_list, metavar="L",
                   help="w+ layers to move, e.g. 0-5 (default: the layers the directions were found on)")


def add_directions_grid(sub):
    O = cli.defaults(directions_grid.DirectionsGridOptions)
    p = command(sub, "directions-grid", "render the top directions on seeded samples, to name them",
                "For each of the --top directions, one row per seeded sample (drawn as `sample` draws them), "
                "strengths left to right: DIR/direction-KK.png and grid.png (all of them, best first). summary.json "
                "gives each direction's score, its share of each w+ layer, and the mean pixel change at the extreme "
                "strengths.", directions_grid,
                lambda a: cli.user_facing(directions_grid.DirectionsGridOptions, directions=a.directions, top=a.top,
                                          strengths=a.strengths, layers=a.layers, samples=a.samples, seed=a.seed,
                                          truncation=a.truncation))
    add_common(p)
    add_direction_flags(p, O, positional=True)
    p.add_argument("--top", type=cli.positive_int, default=O.top, help="directions shown, best first")
    p.add_argument("--samples", type=cli.positive_int, default=O.samples, help="seeded samples per direction")
    p.add_argument("--seed", type=int, default=O.seed, help=f"seed of the samples (default: {O.seed})")
    p.add_argument("--truncation", type=float, default=O.truncation, help="truncation psi of the samples (1 = none)")


def add_studio(sub):
    O = cli.defaults(StudioOptions)
    p = sub.add_parser("studio", formatter_class=cli.formatter, help="draw, invert, morph and mix cats in the browser",
                       description="Serve a web page (Gradio) with the same tools: Draw (strokes to cats, live), "
                                   "Invert, Morph, Mix and Edit. Open the address it prints; stop it with Ctrl+C.")
    p.set_defaults(serve=True)
    p.add_argument("--generator", default=SESSION.generator, metavar="CKPT",
                   help="generator .safetensors (default: the shipped checkpoints/stylegan2-cat64.safetensors)")
    add_encoder_flag(p)
    p.add_argument("--device", default=SESSION.device, help="torch device, e.g. cpu or cuda")
    p.add_argument("--host", default=O.host,
                   help="address to listen on (127.0.0.1: this machine only; 0.0.0.0: every network it is on)")
    p.add_argument("--port", type=int, default=O.port, help="port to listen on")
    p.add_argument("--share", action="store_true", help="also open a public Gradio share link")
    p.add_argument("--max-upload-mb", type=float, default=O.max_upload_mb, help="largest upload accepted")
    p.add_argument("--queue-size", type=cli.positive_int, default=O.queue_size,
                   help="requests that may wait for the model; more are turned away with a message")


def studio(args):
    from latentcat.studio.page import serve  # the web stack loads for this command only
    from latentcat.studio.studio import Studio
    options = cli.user_facing(StudioOptions, host=args.host, port=args.port, share=args.share,
                              max_upload_mb=args.max_upload_mb, queue_size=args.queue_size)
    session = open_session(SessionSettings(generator=args.generator, device=args.device, encoder=args.encoder,
                                           encoder_iterations=args.encoder_iterations, progress=False))
    shared = Studio.open(session, options)
    try:
        serve(shared)
    finally:
        shared.close()


def sharded(settings: SessionSettings, shards: Shards) -> SessionSettings:
    """The settings of a run split across processes (`accelerate launch`): one progress bar, the main one's."""
    if settings.save_every:
        raise cli.UserError("--save-every is not available in a run split across processes yet: run it as one")
    return dataclasses.replace(settings, progress=settings.progress and shards.is_main)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=cli.formatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (add_sample, add_invert, add_interpolate, add_draw, add_mix, add_compare, add_directions,
                add_edit, add_directions_grid, add_studio):
        add(sub)
    args = parser.parse_args(argv)
    if getattr(args, "serve", False):
        return studio(args)
    shards = Shards.from_launch()
    shards.on_launcher_stop(args.out)
    with shards.main_speaks():
        options = args.options(args)
        settings = session_settings(args)
        if shards.count > 1:
            settings = sharded(settings, shards)
        session = open_session(settings, shards)
        paths = expand_inputs(args.inputs) if args.expand else list(args.inputs)
        execute(args.job.run, session, paths, options, args.out)


if __name__ == "__main__":
    sys.exit(cli.run(main))
