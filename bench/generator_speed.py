"""Generator speed: forward and forward+backward images/s at 64 and 128 px, and GAN training images/s.

    python bench/generator_speed.py --out bench/results            # CPU, or the GPU if there is one
Results go to OUT/generator_speed-<device>.json; nothing here is a test.
"""
import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import generators as g  # noqa: E402
from bench.timing import machine, timed  # noqa: E402
from generators.training import GANTrainingConfig  # noqa: E402
from latentcat.files import write_json  # noqa: E402


def generator_rates(preset: str, resolution: int, batch: int, device, dtype, seconds: float) -> dict:
    cfg = g.preset(preset, resolution=resolution)
    G = g.build_generator(cfg).to(device)
    z = torch.randn(batch, cfg.z_dim, device=device)
    autocast = lambda: torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32)  # noqa: E731

    def forward():
        with torch.no_grad(), autocast():
            G(z)

    def forward_backward():
        with autocast():
            img = G(z)
        img.float().square().mean().backward()

    return {"preset": preset, "resolution": resolution, "batch": batch, "dtype": str(dtype).split(".")[-1],
            "forward_images_per_s": batch / timed(forward, device, seconds),
            "forward_backward_images_per_s": batch / timed(forward_backward, device, seconds)}


def training_rate(preset: str, batch: int, device, mixed_precision: str, steps: int) -> dict:
    from latentcat.gan_trainer import GANRunConfig, GANTrainer
    from latentcat.images import image_grid
    cfg = g.preset(preset)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        noise = torch.rand(64, 3, cfg.resolution, cfg.resolution) * 2 - 1
        for i, img in enumerate(noise):
            image_grid(img[None], padding=0).save(data / f"{i}.png")
        run = GANRunConfig(data=str(data), out=str(Path(tmp) / "run"), model=cfg, training=GANTrainingConfig(),
                           steps=steps + 2, batch_size=batch, mixed_precision=mixed_precision,
                           log_every=10 ** 6, sample_every=10 ** 6, checkpoint_every=10 ** 6)
        trainer = GANTrainer(run, log=lambda *_: None)
        for _ in range(2):
            trainer.train_step()
        start = time.perf_counter()
        for _ in range(steps):
            trainer.train_step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds = (time.perf_counter() - start) / steps
    return {"preset": preset, "batch": batch, "mixed_precision": mixed_precision,
            "seconds_per_step": seconds, "images_per_s": batch / seconds}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="bench/results", help="folder for the JSON results")
    parser.add_argument("--seconds", type=float, default=3.0, help="minimum timing window per measurement")
    parser.add_argument("--train-steps", type=int, default=5, help="training steps to time")
    parser.add_argument("--mixed-precision", choices=("no", "bf16", "fp16"), default="no",
                        help="training's autocast dtype (Accelerate fixes it once per process: one per run)")
    args = parser.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    gpu = device.type == "cuda"
    dtype = torch.bfloat16 if gpu else torch.float32
    batch = 64 if gpu else 16
    results = {**machine(device), "generator": [], "training": []}
    for preset, res in [("stylegan2-64", 64), ("stylegan2-128", 128), ("stylegan2-64-256", 64),
                        ("stylegan2-64-cpu", 64), ("dcgan-64", 64)]:
        results["generator"].append(generator_rates(preset, res, batch, device, dtype, args.seconds))
        print(json.dumps(results["generator"][-1]))
    for preset in ("stylegan2-64", "stylegan2-64-256", "stylegan2-64-cpu", "dcgan-64"):
        results["training"].append(training_rate(preset, batch, device, args.mixed_precision, args.train_steps))
        print(json.dumps(results["training"][-1]))
    out = Path(args.out) / f"generator_speed-{'gpu' if gpu else 'cpu'}.json"
    write_json(out, results)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
