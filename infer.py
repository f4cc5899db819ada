"""Inference entry point: sample cats, invert photos, interpolate, draw from scribbles, mix styles, and
compare the encoder, encoder + refinement and optimisation from the mean.

Every command writes PNGs and a summary.json (command, generator, settings, items, errors) into --out, never
overwrites files it did not write, and exits non-zero only when nothing could be done.
"""
import argparse
import dataclasses
import sys
from pathlib import Path

import torch

from inversion.edits import arithmetic, crossover, interpolation_frames
from inversion.feature_networks import BACKBONES, DEFAULT_PERCEPTUAL, build_feature_network, metric_backbone_for
from inversion.invert import InversionConfig
from inversion.latents import INITS, SPACES, check_space, to_codes
from inversion.losses import LossWeights
from inversion.metrics import summarize
from inversion.optimize import OPTIMIZERS, OptimizerConfig
from latentcat import cli
from latentcat.comparison import compare
from latentcat.encoder_files import load_encoder
from latentcat.errors import UserError
from latentcat.generator_files import load_generator, require_stylegan
from latentcat.images import IMAGE_SUFFIXES, image_grid, list_files, save_gif, save_png, to_pil
from latentcat.inversion_jobs import (Input, Session, draw_sketches, invert_inputs, latents_of, read_init_folder,
                                      read_init_latent, read_inputs, write_comparison_grid, write_inverted,
                                      write_loss_curve, write_metric_curve)
from latentcat.latent_files import SUFFIX
from latentcat.sampling import generate, sample_latents, write_samples
from latentcat.summary import describe_generator, prepare_output_dir, write_summary

CHECKPOINTS = Path(__file__).resolve().parent / "checkpoints"
DEFAULT_GENERATOR = CHECKPOINTS / "stylegan2-cat64.safetensors"
DEFAULT_ENCODER = CHECKPOINTS / "encoder-cat64.safetensors"  # trained for DEFAULT_GENERATOR only


def add_common(p):
    p.add_argument("--generator", default=str(DEFAULT_GENERATOR), metavar="CKPT", help="generator .safetensors")
    p.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")


def add_encoder_flag(group):
    group.add_argument("--encoder", metavar="CKPT",
                       help="trained w+ encoder (train.py encoder) (default: the shipped encoder, when --generator "
                            "is the shipped generator it was trained for)")


def add_inversion(p, steps: int, mean_weight: float = 0.0, space: str = "w+", own_starts: bool = False):
    """The engine's flags, shared by invert, interpolate, draw, mix and compare (`own_starts`: the command picks
    its starts itself, so it offers no --init)."""
    g = p.add_argument_group("latent and start")
    g.add_argument("--latent", choices=SPACES, help=f"latent space to optimise (default: {space}; z for a DCGAN)")
    p.set_defaults(default_space=space, init=None, encoder=None)
    if not own_starts:
        g.add_argument("--init", metavar="{mean,random,encoder,FILE,DIR}",
                       help="start (default: encoder with --encoder, else mean): w_avg (in z, whose mean 0 is a "
                            "dead point: a seeded random z), a seeded random sample, the encoder, a saved latent "
                            "file, or an earlier run's folder (each photo starts from its own NNN-photo latent)")
        add_encoder_flag(g)
    g.add_argument("--optimize-noise", action="store_true",
                   help="also optimise StyleGAN2's noise maps (with NVlabs' noise regularisation)")
    g.add_argument("--seed", type=int, default=0, help="seed for random starts and latent noise")
    g = p.add_argument_group("optimiser")
    g.add_argument("--optimizer", choices=OPTIMIZERS, default="adam", help="Adam (NVlabs schedule) or LBFGS")
    g.add_argument("--steps", type=int, default=steps, help="optimisation steps (LBFGS: iterations)")
    g.add_argument("--lr", type=float, help="learning rate (default: 0.1 Adam, 1.0 LBFGS)")
    g.add_argument("--lbfgs-history", type=cli.positive_int, default=20, help="LBFGS curvature pairs kept")
    g.add_argument("--warmup", type=float, default=0.05, help="Adam: fraction of steps of learning-rate warm-up")
    g.add_argument("--rampdown", type=float, default=0.25, help="Adam: final fraction of steps of cosine ramp-down")
    g.add_argument("--latent-noise", type=float, default=0.0,
                   help="Adam: initial latent noise in units of the w spread (NVlabs uses 0.05)")
    g.add_argument("--latent-noise-ramp", type=float, default=0.75, help="Adam: fraction of steps the noise lasts")
    g.add_argument("--batch-size", type=cli.positive_int, default=8,
                   help="images optimised together (LBFGS couples a batch: use 1 for independent results)")
    g = p.add_argument_group("loss (each weight may be 0)")
    g.add_argument("--pixel", choices=("l1", "l2"), default="l2", help="pixel loss norm")
    g.add_argument("--pixel-weight", type=float, default=1.0, help="weight of the pixel loss")
    g.add_argument("--perceptual", choices=BACKBONES, default=DEFAULT_PERCEPTUAL,
                   help="perceptual loss network (the encoder's training default too, so refinement continues "
                        "what the encoder learnt)")
    g.add_argument("--perceptual-weight", type=float, default=1.0, help="weight of the perceptual loss")
    g.add_argument("--perceptual-layers", metavar="L1,L2",
                   help="layers, e.g. conv1_1,conv3_2 for vgg16 (default: Image2StyleGAN's for vgg16, "
                        "all five LPIPS taps otherwise)")
    g.add_argument("--vgg-weights", metavar="FILE", help="torchvision ImageNet VGG16 weights, for use offline")
    g.add_argument("--alexnet-weights", metavar="FILE", help="torchvision ImageNet AlexNet weights (lpips-alex)")
    g.add_argument("--latent-change-weight", type=float, default=0.0,
                   help="weight of the L2 change of the latent from its start")
    g.add_argument("--mean-weight", type=float, default=mean_weight,
                   help="weight of the L2 distance of the codes to w_avg (0 for a DCGAN's z)")
    g.add_argument("--noise-weight", type=float, default=1e5, help="noise regularisation (with --optimize-noise)")
    g = p.add_argument_group("measuring and saving")
    g.add_argument("--metric-net", choices=BACKBONES,
                   help="perceptual metric network (default: stlpips-vgg, or stlpips-alex if the loss uses a VGG)")
    g.add_argument("--save-every", type=int, default=0, metavar="K", help="write frames/ every K steps (0: off)")
    g.add_argument("--record-every", type=int, default=0, metavar="K",
                   help="record metrics every K steps into the summary and metrics.png (0: off)")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")


def default_encoder(args) -> str | None:
    """--encoder, else the shipped encoder if the generator is the shipped one: an encoder fits one generator."""
    if args.encoder:
        return args.encoder
    if Path(args.generator).resolve() == DEFAULT_GENERATOR.resolve() and DEFAULT_ENCODER.is_file():
        return str(DEFAULT_ENCODER)
    return None


def build_session(args) -> Session:
    args.encoder = default_encoder(args)
    device = torch.device(args.device)
    G = load_generator(args.generator, device)
    space = args.latent or (args.default_space if args.default_space in G.latent_spaces else G.latent_spaces[-1])
    cli.config_from_flags(check_space, G, space)
    init = args.init or ("encoder" if args.encoder else "mean")
    init_from_files = init not in INITS + ("encoder",)
    if init_from_files and not Path(init).exists():
        raise UserError(f"--init must be mean, random, encoder, a latent file or a folder of them; {init} is "
                        "none of them")
    if init == "mean" and space == "z":
        print(f"note: z has no usable mean (z = 0 is a dead point); starting from random z (seed {args.seed})")
    for flag in ("save_every", "record_every"):
        if getattr(args, flag) < 0:
            raise UserError(f"--{flag.replace('_', '-')} must be >= 0")
    config = cli.config_from_flags(
        InversionConfig, space=space, optimize_noise=args.optimize_noise, pixel_p=1 if args.pixel == "l1" else 2,
        seed=args.seed,
        weights=cli.config_from_flags(LossWeights, pixel=args.pixel_weight, perceptual=args.perceptual_weight,
                                      latent_change=args.latent_change_weight, mean_distance=args.mean_weight,
                                      noise=args.noise_weight),
        optimizer=cli.config_from_flags(OptimizerConfig, name=args.optimizer, steps=args.steps, lr=args.lr,
                                        lbfgs_history=args.lbfgs_history, warmup=args.warmup,
                                        rampdown=args.rampdown, latent_noise=args.latent_noise,
                                        latent_noise_ramp=args.latent_noise_ramp))
    layers = args.perceptual_layers.split(",") if args.perceptual_layers else None
    network = None
    if args.perceptual_weight > 0:
        network = build_feature_network(args.perceptual, layers, args.vgg_weights, args.alexnet_weights, device)
    metric_name = args.metric_net or metric_backbone_for(args.perceptual if network else None)
    metric = build_feature_network(metric_name, None, args.vgg_weights, args.alexnet_weights, device)
    info = describe_generator(args.generator, G)
    encoder = None
    if args.encoder:
        require_stylegan(G, args.generator, "an encoder")
        encoder = load_encoder(args.encoder, G, info["fingerprint"], device)
    session = Session(G=G, generator_info=info, config=config, network=network, metric_network=metric,
                      device=device, init=init, seed=args.seed, batch_size=args.batch_size,
                      save_every=args.save_every, record_every=args.record_every, progress=not args.no_progress,
                      encoder=encoder)
    if init_from_files:
        if Path(init).is_dir():
            session.init_folder = read_init_folder(session, init)
        else:
            session.init_latent = read_init_latent(session, init)
    return session


def settings_of(session: Session, args) -> dict:
    return {"inversion": dataclasses.asdict(session.config), "init": session.init,
            "perceptual": args.perceptual if session.network else None,
            "perceptual_layers": list(session.network.layers) if session.network else None,
            "metric_net": session.metric_network.name, "batch_size": session.batch_size,
            "encoder": args.encoder,
            "device": str(session.device)}


def expand_inputs(paths) -> list[str]:
    """Folders stand for the images inside them (sorted); files are kept as given."""
    out = []
    for path in paths:
        p = Path(path)
        out += [str(f) for f in list_files(p) if f.suffix.lower() in IMAGE_SUFFIXES] if p.is_dir() else [path]
    return out


def input_names(paths) -> list[str]:
    return [Input(i, str(p)).name for i, p in enumerate(paths)]


def finish(out, command, settings, items, errors, session, **extra):
    write_summary(out, command, settings, items, errors, generator=session.generator_info, **extra)
    print(f"{command}: {len(items)} done, {len(errors)} failed; results in {out}")
    if not items:
        raise UserError(f"{command}: nothing could be done ({len(errors)} input(s) failed; see above)")


# ---------------------------------------------------------------- sample

def add_sample(sub):
    p = sub.add_parser("sample", formatter_class=cli.formatter, help="draw random cats from a generator",
                       description="Write a grid, one PNG per image and summary.json. A seed always gives the "
                                   "same images (StyleGAN2 noise is fixed).")
    add_common(p)
    p.add_argument("--num", type=cli.positive_int, default=16, help="number of images")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--truncation", type=float, default=0.7, help="StyleGAN2 truncation psi (1 = none)")


def cmd_sample(args):
    names = ["grid.png", "summary.json"] + [f"seed{args.seed:04d}-{i:04d}.png" for i in range(args.num)]
    G = load_generator(args.generator, args.device)
    out = prepare_output_dir(args.out, names)
    images = generate(G, sample_latents(G.z_dim, args.num, args.seed), args.truncation)
    result = write_samples(out, images, args.seed)
    write_summary(out, "sample", {"num": args.num, "seed": args.seed, "truncation": args.truncation},
                  result["items"], generator=describe_generator(args.generator, G), grid=result["grid"])
    print(f"wrote {args.num} samples and {out / 'grid.png'}")


# ---------------------------------------------------------------- invert

def add_invert(sub):
    p = sub.add_parser("invert", formatter_class=cli.formatter, help="find the latent of each photo (projection)",
                       description="Optimise a latent per photo so the generator reproduces it. Writes, per photo, "
                                   "the reconstruction and its latent (.latent.safetensors, stamped with space and "
                                   "generator), plus grid.png (photo | reconstruction), loss.png and summary.json.")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="photos, or folders of photos")
    add_common(p)
    add_inversion(p, steps=300)


def cmd_invert(args):
    paths = expand_inputs(args.images)
    session = build_session(args)
    names = input_names(paths)
    out = prepare_output_dir(args.out, ["summary.json", "grid.png", "loss.png", "metrics.png"]
                             + [n + ext for n in names for ext in (".png", SUFFIX)])
    inputs, errors = read_inputs(session, paths)
    results, failed = invert_inputs(session, inputs, out)
    items = [write_inverted(session, out, r) for r in results]
    extra = {}
    if results:
        write_comparison_grid(out / "grid.png", [(r.input.image, r.image) for r in results])
        write_loss_curve(out / "loss.png", results)
        write_metric_curve(out / "metrics.png", results)
        extra["metrics_mean"] = {k: summarize([r.metrics[k] for r in results])
                                 for k in ("mse", "psnr", "ssim", "lpips")}
        extra["grid"] = "grid.png"
    finish(out, "invert", settings_of(session, args), items, errors + failed, session, **extra)


# ---------------------------------------------------------------- interpolate

def add_interpolate(sub):
    p = sub.add_parser("interpolate", formatter_class=cli.formatter, help="morph between two photos or latents",
                       description="Invert two photos (or read two saved latents) and interpolate: linearly in "
                                   "w and w+, spherically in z. Writes interpolation.gif, filmstrip.png, frames/ "
                                   "and both reconstructions with their latents.")
    p.add_argument("inputs", nargs=2, metavar="A_B", help="two photos or .latent.safetensors files")
    add_common(p)
    p.add_argument("--frames", type=cli.positive_int, default=31, help="frames, both ends included")
    p.add_argument("--fps", type=float, default=12.0, help="GIF frames per second")
    add_inversion(p, steps=300)


def common_space(session: Session, results) -> tuple[str, list[torch.Tensor]]:
    """Both latents in one space: their own if they agree, else w+ codes."""
    if results[0].space == results[1].space:
        return results[0].space, [r.latent for r in results]
    return "w+", [to_codes(session.G, r.space, r.latent.to(session.device)).cpu() for r in results]


def cmd_interpolate(args):
    session = build_session(args)
    names = input_names(args.inputs)
    out = prepare_output_dir(args.out, ["summary.json", "interpolation.gif", "filmstrip.png", "frames"]
                             + [n + ext for n in names for ext in (".png", SUFFIX)])
    inputs, errors = read_inputs(session, args.inputs, allow_latents=True)
    results, failed = latents_of(session, inputs, out)
    errors += failed
    if len(results) < 2:
        finish(out, "interpolate", settings_of(session, args), [], errors, session)
    items = [write_inverted(session, out, r) for r in results]
    space, (a, b) = common_space(session, results)
    noises = [r.noise if r.space == space else None for r in results]
    frames = interpolation_frames(session.G, space, a.to(session.device), b.to(session.device), args.frames,
                                  *[[n.to(session.device) for n in ns] if ns else None for ns in noises]).cpu()
    pictures = [to_pil(f) for f in frames]
    for i, pic in enumerate(pictures):
        save_png(out / "frames" / f"frame-{i:03d}.png", pic)
    save_gif(out / "interpolation.gif", pictures, 1 / args.fps)
    save_png(out / "filmstrip.png", image_grid(frames, nrow=len(frames)))
    finish(out, "interpolate", {**settings_of(session, args), "frames": args.frames, "space": space}, items,
           errors, session, gif="interpolation.gif", filmstrip="filmstrip.png")


# ---------------------------------------------------------------- draw

def add_draw(sub):
    p = sub.add_parser("draw", formatter_class=cli.formatter, help="turn coloured scribbles into cats",
                       description="Fit the generator to each sketch only where it was drawn: alpha is the stroke "
                                   "mask of an RGBA sketch; for RGB, strokes are what differs from the background. "
                                   "Masked pixel + masked perceptual losses, plus L2 toward w_avg. Writes per "
                                   "sketch a grid (sketch | mask | results) and the best result's latent.")
    p.add_argument("sketches", nargs="+", metavar="SKETCH", help="sketch images, or folders of them")
    add_common(p)
    p.add_argument("--samples", type=cli.positive_int, default=1,
                   help="1: start from the mean; K > 1: K random starts, all kept, best first")
    # w, not w+: a few strokes constrain little, and w keeps the fit on the manifold of cats (as iGAN does)
    add_inversion(p, steps=200, mean_weight=0.05, space="w", own_starts=True)


def cmd_draw(args):
    paths = expand_inputs(args.sketches)
    session = build_session(args)
    names = input_names(paths)
    out = prepare_output_dir(args.out, ["summary.json", "grid.png"] + [
        n + suffix for n in names for suffix in ["-grid.png", SUFFIX] + [f"-{k}.png" for k in range(args.samples)]])
    items, errors = draw_sketches(session, paths, args.samples, out)
    finish(out, "draw", {**settings_of(session, args), "samples": args.samples}, items, errors, session,
           grid="grid.png" if items else None)


# ---------------------------------------------------------------- mix

def add_mix(sub):
    p = sub.add_parser("mix", formatter_class=cli.formatter, help="style crossover and latent arithmetic",
                       description="CONTENT STYLE: Image2StyleGAN crossover, w+ layers before L from CONTENT, the "
                                   "rest from STYLE (L=0: pure style; L=num_ws: pure content). With --arithmetic "
                                   "and three inputs A B C: renders A + (B - C). Inputs are photos (inverted "
                                   "first) or saved latents.")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="CONTENT STYLE, or A B C with --arithmetic")
    add_common(p)
    p.add_argument("--layer", type=int, action="append", metavar="L",
                   help="crossover layer; repeat for several (default: every layer from 0 to num_ws)")
    p.add_argument("--arithmetic", action="store_true", help="three inputs A B C: render A + (B - C)")
    add_inversion(p, steps=300)


def cmd_mix(args):
    expected = 3 if args.arithmetic else 2
    if len(args.inputs) != expected:
        raise UserError(f"mix {'--arithmetic ' if args.arithmetic else ''}takes {expected} inputs, "
                        f"got {len(args.inputs)}")
    session = build_session(args)
    G = session.G
    require_stylegan(G, args.generator, "mix")
    layers = args.layer if args.layer else list(range(G.num_ws + 1))
    bad = [L for L in layers if not 0 <= L <= G.num_ws]
    if bad:
        raise UserError(f"--layer {bad[0]} is outside [0, {G.num_ws}] (this generator has {G.num_ws} w+ layers)")
    names = input_names(args.inputs)
    mixes = ["arithmetic.png"] if args.arithmetic else [f"mix-layer{L:02d}.png" for L in layers]
    out = prepare_output_dir(args.out, ["summary.json", "grid.png"] + mixes
                             + [n + ext for n in names for ext in (".png", SUFFIX)])
    inputs, errors = read_inputs(session, args.inputs, allow_latents=True)
    results, failed = latents_of(session, inputs, out)
    errors += failed
    items = [write_inverted(session, out, r) for r in results]
    if len(results) == expected:
        lat = [r.latent.to(session.device) for r in results]
        spaces = [r.space for r in results]
        codes = [to_codes(G, s, x) for s, x in zip(spaces, lat)]
        if args.arithmetic:
            images = arithmetic(G, "w+", *codes).cpu()
        else:
            images = torch.cat([crossover(G, "w+", codes[0], codes[1], L) for L in layers]).cpu()
        for name, img in zip(mixes, images):
            save_png(out / name, to_pil(img))
        row = [r.image for r in results] + list(images)
        save_png(out / "grid.png", image_grid(torch.stack(row), nrow=len(row)))
    else:
        items = []
    finish(out, "mix", {**settings_of(session, args), "layers": None if args.arithmetic else layers,
                        "arithmetic": args.arithmetic}, items, errors, session,
           outputs=mixes if items else [], grid="grid.png" if items else None)


# ---------------------------------------------------------------- compare

def add_compare(sub):
    p = sub.add_parser("compare", formatter_class=cli.formatter, help="encoder vs hybrid vs mean-start baseline",
                       description="Invert the same photos three ways with the same loss and optimiser: the encoder "
                                   "alone, the encoder plus --refine-steps of optimisation (hybrid), and "
                                   "--baseline-steps from the mean (baseline). Writes summary.json (methods."
                                   "{encoder,hybrid,baseline}: mean/median mse, psnr, ssim, lpips, seconds per "
                                   "image, steps), comparison.png (photo | encoder | hybrid | baseline) and curve.png "
                                   "(LPIPS against step for hybrid and baseline).")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="photos, or folders of photos")
    add_common(p)
    p.add_argument("--refine-steps", type=int, default=100, help="hybrid: optimisation steps after the encoder")
    p.add_argument("--baseline-steps", type=int, default=1000, help="baseline: optimisation steps from the mean")
    p.add_argument("--refine-lr", type=float, help="hybrid: learning rate of the refinement (default: --lr)")
    add_inversion(p, steps=0, own_starts=True)
    add_encoder_flag(p)
    p.set_defaults(record_every=10)


def cmd_compare(args):
    if default_encoder(args) is None:
        raise UserError("compare needs a trained encoder for this generator: --encoder CKPT")
    if args.record_every < 1:
        raise UserError("compare records its curves: --record-every must be >= 1")
    if args.refine_lr is not None and not args.refine_lr > 0:
        raise UserError(f"--refine-lr must be > 0, got {args.refine_lr}")
    paths = expand_inputs(args.images)
    session = build_session(args)
    out = prepare_output_dir(args.out, ["summary.json", "comparison.png", "curve.png"])
    inputs, errors = read_inputs(session, paths)
    methods, items, failed = compare(session, inputs, args.refine_steps, args.baseline_steps, out, args.refine_lr)
    for m, values in methods.items():
        print(f"{m:9s} lpips {values['lpips'].get('mean', float('nan')):.4f}  psnr "
              f"{values['psnr'].get('mean', float('nan')):.2f}  {values['seconds_per_image'] or 0:.2f} s/image  "
              f"{values['steps']} steps")
    settings = {**settings_of(session, args), "refine_steps": args.refine_steps,
                "baseline_steps": args.baseline_steps, "refine_lr": args.refine_lr}
    finish(out, "compare", settings, items, errors + failed, session, methods=methods,
           comparison="comparison.png", curve="curve.png")


COMMANDS = {"sample": (add_sample, cmd_sample), "invert": (add_invert, cmd_invert),
            "interpolate": (add_interpolate, cmd_interpolate), "draw": (add_draw, cmd_draw),
            "mix": (add_mix, cmd_mix), "compare": (add_compare, cmd_compare)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=cli.formatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for add, _ in COMMANDS.values():
        add(sub)
    args = parser.parse_args(argv)
    COMMANDS[args.command][1](args)


if __name__ == "__main__":
    sys.exit(cli.run(main))
