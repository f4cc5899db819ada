"""Would torch.compile speed up the generator-tuning step? The trial that keeps tuning eager.

    python bench/tuning_compile_trial.py --out bench/results
Times dense tuning's own render (one generator per photo: torch.func.functional_call under vmap, `--tune-rank 0`)
plus the default loss, forward and backward, then an Adam update of the tuned weights, eager and compiled, in one
run, at batch 1 and 4 (shipped 64 px generator). `--compile` compiles the latent step only, because here compiling measured slower.
Results go to OUT/tuning_compile_trial-<device>.json; nothing here is a test.
"""
import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.timing import machine, one_call, timed  # noqa: E402
from inversion.feature_networks import DEFAULT_PERCEPTUAL, build_feature_network  # noqa: E402
from inversion.latents import initial_code  # noqa: E402
from inversion.losses import InversionLoss, LossWeights  # noqa: E402
from inversion.tuned_weights import DenseRows  # noqa: E402
from inversion.tuning import TuningConfig, tuned_names  # noqa: E402
from latentcat.files import write_json  # noqa: E402
from latentcat.generator_files import load_generator  # noqa: E402

DEFAULT_GENERATOR = Path(__file__).resolve().parents[1] / "checkpoints" / "stylegan2-cat64.safetensors"


def tuning_step(G, network, rows: int, device):
    """(score, step): score() -> per-photo loss; step(score) runs one Adam step through it."""
    with torch.no_grad():
        targets = initial_code(G, "w+", "random", rows, seed=1).render(G)
    latent = initial_code(G, "w+", "mean", rows).latent.to(device)[:, None]
    blocks = tuned_names(G, TuningConfig())
    change = DenseRows(G, blocks, rows)
    loss = InversionLoss(LossWeights(), targets, None, network)
    optimizer = torch.optim.Adam(change.params(), lr=1e-4)

    def score():
        return loss(change.render(latent, "w+", None, len(blocks)))[0]

    def step(fn):
        optimizer.zero_grad()
        fn().sum().backward()
        optimizer.step()
    return score, step


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="bench/results", help="folder for the JSON results")
    parser.add_argument("--generator", default=str(DEFAULT_GENERATOR), help="64 px generator to tune")
    parser.add_argument("--seconds", type=float, default=10.0, help="minimum timing window per measurement")
    parser.add_argument("--note", help="recorded with the results (what else the machine was doing)")
    args = parser.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    G = load_generator(args.generator, device)
    network = build_feature_network(DEFAULT_PERCEPTUAL, device=device)
    results = {**machine(device, args.note), "generator": Path(args.generator).name, "runs": []}
    for rows in (1, 4):
        score, step = tuning_step(G, network, rows, device)
        compiled = torch.compile(score)
        first_call = one_call(lambda: step(compiled), device)
        eager_s, compiled_s = (timed(lambda: step(fn), device, args.seconds) for fn in (score, compiled))
        results["runs"].append({"batch": rows, "eager_seconds_per_step": eager_s,
                                "compiled_seconds_per_step": compiled_s, "compiled_over_eager": eager_s / compiled_s,
                                "first_call_seconds": first_call})
        print(json.dumps(results["runs"][-1]))
    out = Path(args.out) / f"tuning_compile_trial-{'gpu' if device.type == 'cuda' else 'cpu'}.json"
    write_json(out, results)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
