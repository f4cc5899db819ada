"""Encoder speed at 64 px: inference images/s at batch 1 and 32 (and 256 on a GPU), and training images/s, each
with its FLOPs per image and the fraction of the device's matmul peak (in the dtype used) it reaches.

    python bench/encoder_speed.py --out bench/results     # CPU, or the GPU if there is one
Targets: >= 100 images/s at batch 32 on CPU; on an H100 >= 5,000 at batch 32 and >= 20,000 at batch 256.
--compile also times inference compiled by torch.compile (on a GPU in its CUDA-graph mode, "reduce-overhead":
a batch of 32 is launch-bound there), against the eager forward in the same run.
Results go to OUT/encoder_speed-<device>.json; nothing here is a test.
"""
import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.efficiency import measure  # noqa: E402
from bench.timing import machine  # noqa: E402
from encoder.config import EncoderConfig  # noqa: E402
from encoder.model import WPlusEncoder  # noqa: E402
from encoder.training import EncoderObjective, EncoderTrainingConfig  # noqa: E402
from inversion.feature_networks import DEFAULT_PERCEPTUAL, build_feature_network  # noqa: E402
from latentcat.files import write_json  # noqa: E402
from latentcat.generator_files import load_generator  # noqa: E402

DEFAULT_GENERATOR = Path(__file__).resolve().parents[1] / "checkpoints" / "stylegan2-cat64.safetensors"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="bench/results", help="folder for the JSON results")
    parser.add_argument("--generator", default=str(DEFAULT_GENERATOR), help="64 px generator (sets w+ shape)")
    parser.add_argument("--seconds", type=float, default=5.0, help="minimum timing window per measurement")
    parser.add_argument("--note", help="recorded with the results (what else the machine was doing)")
    parser.add_argument("--compile", action="store_true", help="also time inference under torch.compile")
    args = parser.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    gpu = device.type == "cuda"
    G = load_generator(args.generator, device)
    config = EncoderConfig(resolution=G.resolution, num_ws=G.num_ws, w_dim=G.w_dim)
    E = WPlusEncoder(config).to(device).eval()
    results = {**machine(device, args.note), "encoder": "resnet18, pyramid head, depth 3", "resolution": G.resolution,
               "parameters_m": sum(p.numel() for p in E.parameters()) / 1e6, "inference": [], "training": []}
    dtype = torch.bfloat16 if gpu else torch.float32
    compiled_E = torch.compile(E, mode="reduce-overhead" if gpu else None) if args.compile else None
    batches = [1, 32, 256] if gpu else [1, 32]
    for batch, compiled in [(b, False) for b in batches] + [(b, True) for b in batches if args.compile]:
        x = torch.rand(batch, 3, G.resolution, G.resolution, device=device) * 2 - 1

        def forward(model=compiled_E if compiled else E):
            with torch.no_grad(), torch.autocast(device.type, dtype=dtype, enabled=gpu):
                model(x)

        mode = {"compiled": "reduce-overhead (CUDA graphs)" if gpu else "default"} if compiled else {}
        seconds, flops, efficiency = measure(forward, device, dtype, args.seconds,
                                             counted=(lambda: forward(E)) if compiled else None)
        results["inference"].append({"batch": batch, "dtype": str(dtype).split(".")[-1], **mode,
                                     "images_per_s": batch / seconds, "flop_per_image": flops / batch,
                                     **efficiency})
        print(json.dumps(results["inference"][-1]))
    E.train()
    objective = EncoderObjective(G, EncoderTrainingConfig(), build_feature_network(DEFAULT_PERCEPTUAL, device=device))
    optimizer = torch.optim.Adam(E.parameters(), lr=1e-4)
    batch = 64 if gpu else 16
    real = torch.rand(batch - objective.split(batch), 3, G.resolution, G.resolution, device=device) * 2 - 1

    def train_step():
        with torch.autocast(device.type, dtype=dtype, enabled=gpu):
            loss, _ = objective.loss(E, real, objective.split(batch))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    seconds, flops, efficiency = measure(train_step, device, dtype, args.seconds)
    results["training"].append({"batch": batch, "dtype": str(dtype).split(".")[-1], "seconds_per_step": seconds,
                                "images_per_s": batch / seconds, "flop_per_image": flops / batch, **efficiency,
                                "includes": f"synthetic half, encoder, G, {DEFAULT_PERCEPTUAL} loss"})
    print(json.dumps(results["training"][-1]))
    rates = {r["batch"]: r["images_per_s"] for r in results["inference"] if "compiled" not in r}
    if args.compile:
        results["compiled_over_eager"] = {str(r["batch"]): r["images_per_s"] / rates[r["batch"]]
                                          for r in results["inference"] if "compiled" in r}
    goals = {32: 5000, 256: 20000} if gpu else {32: 100}
    results["targets"] = {f"inference_images_per_s_batch{batch}": {"value": rates[batch], "target": f">= {goal}",
                                                                   "met": rates[batch] >= goal}
                          for batch, goal in goals.items()}
    out = Path(args.out) / f"encoder_speed-{'gpu' if gpu else 'cpu'}.json"
    write_json(out, results)
    print(json.dumps(results["targets"]))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
