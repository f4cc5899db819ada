"""Training entry point: `prepare` a dataset, train a `generator` or an `encoder`, `evaluate` a generator,
`export` a model for shipping, `import` another project's StyleGAN2.

Run with `python train.py ...` or `accelerate launch train.py ...` (data-parallel on several GPUs or processes).
"""
import argparse
import dataclasses
import json
import sys
from pathlib import Path

from encoder.config import BACKBONES as ENCODER_BACKBONES
from encoder.config import HEADS, EncoderConfig
from encoder.training import EncoderTrainingConfig
from generators import PRESETS, StyleGAN2Config, preset
from generators.augment import parse_policy
from generators.config import ARCH_PRESETS
from generators.training import ARCH_TRAINING
from inversion.feature_networks import BACKBONES
from latentcat import cli, foreign
from latentcat.datasets import read_folder, write_folder, write_pack
from latentcat.encoder_trainer import EncoderRunConfig, EncoderTrainer
from latentcat.fid import FEATURE_NETS
from latentcat.gan_init import check_architecture, read_init
from latentcat.gan_trainer import DISCRIMINATORS, GANRunConfig, GANTrainer
from latentcat.generator_files import load_generator, require_wplus, save_generator
from latentcat.generator_report import PPL_NETWORKS
from latentcat.jobs import evaluate, execute
from latentcat.jobs.evaluate import EvaluateOptions
from latentcat.model_export import export_half
from latentcat.training_loop import RunConfig

RUN = cli.defaults(RunConfig)


def add_prepare(sub):
    p = sub.add_parser("prepare", formatter_class=cli.formatter,
                       help="turn a folder of photos into square images at one resolution",
                       description="Centre-crop and resize every image below SRC_DIR; corrupt or non-image files "
                                   "are skipped with a warning. The train/val split is decided by file name.")
    p.add_argument("src", metavar="SRC_DIR", help="folder of jpg/png/webp photos (any size and mode)")
    p.add_argument("out", metavar="OUT", help="output: a folder of PNGs (train/, val/), or one packed file with --pack")
    p.add_argument("--resolution", type=cli.positive_int, default=64, help="output side in pixels")
    p.add_argument("--val-fraction", type=float, default=RUN.val_fraction, help="share of files held out for validation")
    p.add_argument("--pack", action="store_true", help="write one .safetensors file instead of PNG folders")


def add_run(p, run_class):
    """The flags every training run has, with the defaults of `run_class`."""
    d = cli.defaults(run_class)
    p.add_argument("--data", required=True, help="packed dataset file, prepared folder, or any folder of photos")
    p.add_argument("--out", required=True, metavar="RUN_DIR", help="run folder")
    p.add_argument("--steps", type=cli.positive_int, required=True, help="optimiser steps to train to (in total)")
    p.add_argument("--batch-size", type=cli.positive_int, default=d.batch_size, help="images per process per micro-step")
    p.add_argument("--grad-accum", type=cli.positive_int, default=d.grad_accum, help="micro-steps per optimiser step")
    p.add_argument("--mixed-precision", choices=["no", "bf16", "fp16"], default=d.mixed_precision, help="autocast dtype")
    p.add_argument("--val-fraction", type=float, default=d.val_fraction,
                   help="held-out share when --data is a raw folder")
    p.add_argument("--seed", type=int, default=d.seed, help="random seed")
    p.add_argument("--log-every", type=cli.positive_int, default=d.log_every, help="steps between TensorBoard scalars")
    p.add_argument("--checkpoint-every", type=cli.positive_int, default=d.checkpoint_every,
                   help="steps between checkpoints")
    p.add_argument("--resume", action="store_true", help="continue from RUN_DIR's last checkpoint, if any")


def run_fields(args) -> dict:
    return dict(data=args.data, out=args.out, steps=args.steps, batch_size=args.batch_size, grad_accum=args.grad_accum,
                mixed_precision=args.mixed_precision, seed=args.seed, val_fraction=args.val_fraction,
                log_every=args.log_every, checkpoint_every=args.checkpoint_every)


def add_generator(sub):
    d, t = cli.defaults(GANRunConfig), ARCH_TRAINING["stylegan2"]
    p = sub.add_parser("generator", formatter_class=cli.formatter, help="train a StyleGAN2 or DCGAN generator",
                       description="Train a GAN with Accelerate. RUN_DIR gets TensorBoard logs, sample grids, "
                                   "checkpoints/ (for --resume) and generator.safetensors (the EMA generator).")
    add_run(p, GANRunConfig)
    p.add_argument("--arch", choices=sorted(ARCH_PRESETS), help="generator family (default: stylegan2, or the "
                                                                 "--init-from generator's)")
    p.add_argument("--preset", choices=sorted(PRESETS), help="architecture preset (default: the arch's 64 px one)")
    p.add_argument("--resolution", type=cli.positive_int, help="override the preset's resolution")
    p.add_argument("--channel-max", type=cli.positive_int, help="StyleGAN2: override the preset's channel cap")
    p.add_argument("--lr", type=float, help=f"Adam learning rate (default: {t.lr} StyleGAN2, "
                                            f"{ARCH_TRAINING['dcgan'].lr} DCGAN)")
    p.add_argument("--g-lr", type=float, help="the generator's own learning rate (default: --lr): lower lets a "
                                              "fine-tune's fresh discriminator keep up")
    p.add_argument("--r1-gamma", type=float, help="R1 weight (default: 0.0002 * resolution^2 / batch)")
    p.add_argument("--r1-interval", type=int, help=f"lazy R1 every k steps; 0 disables R1 (default: {t.r1_interval}; "
                                                   "0 with --discriminator projected, which needs none)")
    p.add_argument("--pl-weight", type=float, default=t.pl_weight, help="path-length regularisation weight (0: off)")
    p.add_argument("--style-mixing", type=float, default=t.style_mixing_prob,
                   help="style-mixing regularisation probability")
    p.add_argument("--ema-kimg", type=float, default=t.ema_kimg, help="generator EMA half-life, thousands of images")
    p.add_argument("--augment", default=",".join(t.augment), help="DiffAugment policy, or 'none'")
    p.add_argument("--sample-every", type=cli.positive_int, default=d.sample_every, help="steps between sample grids")
    p.add_argument("--channels-last", action="store_true", help="channels_last memory format (GPU)")
    p.add_argument("--init-from", metavar="CKPT",
                   help="fine-tune: start from this generator (a generator file, or a run folder, whose checkpoint "
                        "also has its discriminator; a file has none, so D starts fresh); the architecture is its own")
    p.add_argument("--freeze-d", type=int, default=d.freeze_d, metavar="K",
                   help="FreezeD: keep the discriminator's first K stages (64 px, 32 px, ...) as they start")
    p.add_argument("--d-warmup", type=int, default=d.d_warmup, metavar="STEPS",
                   help="train the discriminator alone for the first STEPS steps (for a fresh D with a trained G)")
    p.add_argument("--discriminator", choices=DISCRIMINATORS, default=d.discriminator,
                   help="own: the architecture's discriminator; projected: a frozen ImageNet EfficientNet-Lite0 "
                        "(weights ship offline) with small trainable heads per scale (Projected GAN), which knows "
                        "images from the start: for fine-tunes on a few hundred photos")
    p.add_argument("--projected-input", type=cli.positive_int, default=d.projected_input, metavar="PX",
                   help="the side at which the projected discriminator's trunk reads the images")


def add_encoder(sub):
    d, t, m = cli.defaults(EncoderRunConfig), cli.defaults(EncoderTrainingConfig), cli.defaults(EncoderConfig)
    p = sub.add_parser("encoder", formatter_class=cli.formatter, help="train a w+ encoder for a generator",
                       description="Train a ResNet encoder that predicts w+ for a frozen StyleGAN2, on a mix of "
                                   "generated pairs and real photos, with Accelerate. RUN_DIR gets TensorBoard logs "
                                   "(losses, validation metrics and grids), checkpoints/ (for --resume) and "
                                   "encoder.safetensors (stamped with the generator's fingerprint).")
    p.add_argument("--generator", required=True, metavar="CKPT",
                   help="the StyleGAN2 generator to invert (.safetensors, or an NVlabs .pkl / rosinality .pt)")
    add_run(p, EncoderRunConfig)
    p.add_argument("--backbone", choices=ENCODER_BACKBONES, default=m.backbone, help="torchvision ResNet architecture")
    p.add_argument("--backbone-weights", metavar="FILE",
                   help="ImageNet weights for the backbone (torchvision state dict); default: train from scratch")
    p.add_argument("--head", choices=HEADS, default=m.head,
                   help="pSp feature pyramid with a map2style block per w+ layer, or global pool + linear")
    p.add_argument("--depth", type=int, default=m.depth,
                   help="ResNet stages used (default: 3 up to 64 px, all 4 above; photos above 256 px are read at 256)")
    p.add_argument("--iterative", type=cli.positive_int, default=m.iterations, metavar="N",
                   help="ReStyle: N > 1 trains an encoder that reads the photo and its current reconstruction and "
                        "corrects the code, N passes from w_avg per batch (1: one pass, pSp)")
    p.add_argument("--init-encoder", metavar="CKPT",
                   help="start from this trained encoder's weights (e.g. the shipped one-pass encoder)")
    p.add_argument("--progressive-every", type=int, default=t.progressive_every, metavar="K",
                   help="e4e progressive training: start from one w, unlock a w+ layer every K steps (0: off)")
    p.add_argument("--lr", type=float, default=t.lr, help="Adam learning rate")
    p.add_argument("--synthetic-ratio", type=float, default=t.synthetic_ratio,
                   help="share of each batch that is generated pairs")
    p.add_argument("--style-mixing", type=float, default=t.style_mixing, help="probability of style mixing in generated w+")
    p.add_argument("--latent-weight", type=float, default=t.latent_weight, help="w+ L2 on generated pairs")
    p.add_argument("--pixel-weight", type=float, default=t.pixel_weight, help="pixel L2 of the reconstruction")
    p.add_argument("--perceptual", default=d.perceptual, choices=BACKBONES,
                   help="perceptual loss network (the inversion default too)")
    p.add_argument("--perceptual-weight", type=float, default=t.perceptual_weight,
                   help="perceptual loss of the reconstruction")
    p.add_argument("--mean-weight", type=float, default=t.mean_weight, help="real photos: L2 of predicted w+ to w_avg")
    p.add_argument("--val-every", type=cli.positive_int, default=d.val_every, help="steps between validation metrics/grids")


def add_evaluate(sub):
    d = cli.defaults(EvaluateOptions)
    p = sub.add_parser("evaluate", formatter_class=cli.formatter,
                       help="Fréchet distance and nearest-neighbour check of a trained generator",
                       description="Generate --samples images and measure their Fréchet distance to held-out photos "
                                   "(--real) and to the training set (--train-data), next to the real-vs-real "
                                   "floor; check that samples are no closer to their nearest training photo than "
                                   "unseen photos are; measure the perceptual path length in w and z. Writes "
                                   "DIR/summary.json and DIR/nearest-I-NAME.png (each row: a sample, then its 3 "
                                   "nearest training photos). Offline, the feature network is "
                                   "EfficientNet-Lite0 and the metric is reported as FID-EffNetLite0, not FID.")
    p.add_argument("--generator", required=True, nargs="+", metavar="CKPT",
                   help="generator .safetensors files (of one resolution; the photos' features are computed once)")
    p.add_argument("--real", required=True, metavar="DIR", help="held-out photos, e.g. afhq-cat/test")
    p.add_argument("--train-data", metavar="DATA",
                   help="the generator's training data (packed file or folder; its train split is used)")
    p.add_argument("--feature-net", choices=FEATURE_NETS, default=d.feature_net,
                   help="effnet-lite0 (offline, FID-EffNetLite0) or inception (downloads pytorch-fid's weights: FID)")
    p.add_argument("--samples", type=cli.positive_int, default=d.samples, help="generated images")
    p.add_argument("--neighbours", type=cli.positive_int, default=d.neighbours, help="samples shown in each nearest-*.png")
    p.add_argument("--seed", type=int, default=d.seed, help="seed of the generated images")
    p.add_argument("--batch-size", type=cli.positive_int, default=d.batch_size, help="images per forward pass")
    p.add_argument("--device", default=d.device, help="torch device, e.g. cpu or cuda")
    p.add_argument("--ppl-samples", type=int, default=d.ppl_samples,
                   help="perceptual path length: path pairs per latent space, w and z (0: skip it)")
    p.add_argument("--ppl-net", choices=PPL_NETWORKS, default=d.ppl_net, help="LPIPS network of the path length")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")


def add_export(sub):
    p = sub.add_parser("export", formatter_class=cli.formatter,
                       help="write a generator or encoder alone in fp16 for shipping")
    p.add_argument("generator", metavar="CKPT", help="RUN_DIR/generator.safetensors or RUN_DIR/encoder.safetensors")
    p.add_argument("out", metavar="OUT", help="output .safetensors file (a new file: never replaced)")


def add_import(sub):
    p = sub.add_parser("import", formatter_class=cli.formatter,
                       help="convert an NVlabs .pkl or rosinality .pt StyleGAN2 into a latentcat generator file",
                       description="Read the generator in a file of NVlabs' stylegan2-ada-pytorch (a .pkl snapshot's "
                                   "G_ema, or a bare pickled generator) or rosinality's stylegan2-pytorch (a .pt "
                                   "checkpoint's g_ema) without running any code from it, and save it as an ordinary "
                                   "latentcat generator file (fp32; `export` makes an fp16 copy). StyleGAN3, "
                                   "conditional and TensorFlow models are refused. Every command also takes the "
                                   ".pkl or .pt as --generator directly, converting it each time.")
    p.add_argument("src", metavar="SRC", help="NVlabs .pkl, or rosinality .pt/.pth")
    p.add_argument("--out", required=True, metavar="OUT", help="output generator .safetensors")


def model_config(args, init):
    """The architecture asked for: the --init-from source's own (any other asked for is refused), else the
    preset's."""
    asked = args.arch or args.preset or args.resolution or args.channel_max
    if init is not None:
        check_architecture(init, requested_config(args) if asked else None, args.init_from)
        return init.config
    return requested_config(args)


def requested_config(args):
    arch = args.arch or "stylegan2"
    config = preset(args.preset or ARCH_PRESETS[arch])
    if config.arch != arch:
        raise ValueError(f"preset {args.preset!r} is a {config.arch} preset, not {arch}")
    overrides = {}
    if args.resolution:
        overrides["resolution"] = args.resolution
    if args.channel_max:
        if not isinstance(config, StyleGAN2Config):
            raise ValueError("--channel-max applies to StyleGAN2 only")
        overrides["channel_max"] = args.channel_max
    return dataclasses.replace(config, **overrides)


def cmd_prepare(args):
    images = read_folder(args.src, args.resolution, args.val_fraction)
    if args.pack:
        write_pack(args.out, images)
    else:
        write_folder(args.out, images)
    print(f"wrote {len(images.train_names)} train and {len(images.val_names)} val images at "
          f"{args.resolution} px to {args.out}")


def cmd_generator(args):
    init = read_init(args.init_from) if args.init_from else None  # read once: the trainer starts from it
    model = cli.user_facing(model_config, args, init)
    arch = ARCH_TRAINING[model.arch]
    r1_interval = args.r1_interval if args.r1_interval is not None else (
        0 if args.discriminator == "projected" else arch.r1_interval)  # Projected GAN needs no R1
    training = cli.user_facing(
        dataclasses.replace, arch, lr=arch.lr if args.lr is None else args.lr, g_lr=args.g_lr, r1_gamma=args.r1_gamma,
        r1_interval=r1_interval, pl_weight=args.pl_weight, style_mixing_prob=args.style_mixing,
        ema_kimg=args.ema_kimg, augment=cli.user_facing(parse_policy, args.augment))
    cfg = cli.user_facing(GANRunConfig, **run_fields(args), model=model, training=training,
                          sample_every=args.sample_every, channels_last=args.channels_last, init_from=args.init_from,
                          freeze_d=args.freeze_d, d_warmup=args.d_warmup, discriminator=args.discriminator,
                          projected_input=args.projected_input)
    GANTrainer(cfg, resume=args.resume, init=init).train()


def cmd_encoder(args):
    G = load_generator(args.generator)
    require_wplus(G, args.generator, "an encoder")
    model = cli.user_facing(EncoderConfig, resolution=G.resolution, num_ws=G.num_ws, w_dim=G.w_dim,
                            backbone=args.backbone, head=args.head, depth=args.depth,
                            progressive=args.progressive_every > 0, iterations=args.iterative)
    training = cli.user_facing(
        EncoderTrainingConfig, lr=args.lr, synthetic_ratio=args.synthetic_ratio, style_mixing=args.style_mixing,
        latent_weight=args.latent_weight, pixel_weight=args.pixel_weight, perceptual_weight=args.perceptual_weight,
        mean_weight=args.mean_weight, progressive_every=args.progressive_every)
    cfg = cli.user_facing(EncoderRunConfig, **run_fields(args), generator=args.generator, model=model,
                          training=training, perceptual=args.perceptual, backbone_weights=args.backbone_weights,
                          init_encoder=args.init_encoder, val_every=args.val_every)
    EncoderTrainer(cfg, resume=args.resume).train()


def cmd_evaluate(args):
    options = cli.user_facing(EvaluateOptions, real=args.real, train_data=args.train_data, feature_net=args.feature_net,
                              samples=args.samples, neighbours=args.neighbours, seed=args.seed,
                              batch_size=args.batch_size, device=args.device, ppl_samples=args.ppl_samples,
                              ppl_net=args.ppl_net)
    execute(evaluate.run, None, args.generator, options, args.out)


def cmd_export(args):
    """Any latentcat model file (generator or encoder) with its floating tensors cast to fp16."""
    metadata = export_half(args.generator, args.out)
    print(f"wrote {args.out} (fp16 {metadata['kind']})")


def cmd_import(args):
    if not foreign.is_foreign(args.src):
        raise cli.UserError(f"is not a .pkl or .pt/.pth file (import reads {', '.join(foreign.READERS)})", args.src)
    imported = foreign.import_generator(args.src)
    save_generator(args.out, imported.G, extra={"source_format": imported.source_format,
                                                "source_file": Path(args.src).name, "w_avg": imported.w_avg_source,
                                                "import_notes": json.dumps(imported.notes)})
    for key, value in imported.describe().items():
        print(f"{key}: {value}")
    for note in imported.notes:
        print(f"note: {note}")
    print(f"wrote {args.out}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=cli.formatter)
    sub = parser.add_subparsers(dest="command", required=True)
    add_prepare(sub)
    add_generator(sub)
    add_encoder(sub)
    add_evaluate(sub)
    add_export(sub)
    add_import(sub)
    args = parser.parse_args(argv)
    {"prepare": cmd_prepare, "generator": cmd_generator, "encoder": cmd_encoder,
     "evaluate": cmd_evaluate, "export": cmd_export, "import": cmd_import}[args.command](args)


if __name__ == "__main__":
    sys.exit(cli.run(main))
