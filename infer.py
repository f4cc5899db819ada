"""Inference entry point: sample from a trained cat generator.

Every command writes PNGs and a summary.json (command, generator, settings, items) into --out.
"""
import argparse
import sys
from pathlib import Path

from latentcat import cli
from latentcat.generator_files import load_generator
from latentcat.sampling import generate, sample_latents, write_samples
from latentcat.summary import describe_generator, prepare_output_dir, write_summary

CHECKPOINTS = Path(__file__).resolve().parent / "checkpoints"
DEFAULT_GENERATOR = CHECKPOINTS / "stylegan2-cat64.safetensors"


def add_sample(sub):
    p = sub.add_parser("sample", formatter_class=cli.formatter, help="draw random cats from a generator",
                       description="Write a grid, one PNG per image and summary.json. A seed always gives the "
                                   "same images (StyleGAN2 noise is fixed).")
    p.add_argument("--generator", default=str(DEFAULT_GENERATOR), metavar="CKPT", help="generator .safetensors")
    p.add_argument("--num", type=cli.positive_int, default=16, help="number of images")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--truncation", type=float, default=0.7, help="StyleGAN2 truncation psi (1 = none)")
    p.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")


def cmd_sample(args):
    names = ["grid.png", "summary.json"] + [f"seed{args.seed:04d}-{i:04d}.png" for i in range(args.num)]
    G = load_generator(args.generator, args.device)
    out = prepare_output_dir(args.out, names)
    images = generate(G, sample_latents(G.z_dim, args.num, args.seed), args.truncation)
    result = write_samples(out, images, args.seed)
    write_summary(out, "sample", {"num": args.num, "seed": args.seed, "truncation": args.truncation},
                  result["items"], generator=describe_generator(args.generator, G), grid=result["grid"])
    print(f"wrote {args.num} samples and {out / 'grid.png'}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=cli.formatter)
    sub = parser.add_subparsers(dest="command", required=True)
    add_sample(sub)
    args = parser.parse_args(argv)
    {"sample": cmd_sample}[args.command](args)


if __name__ == "__main__":
    sys.exit(cli.run(main))
