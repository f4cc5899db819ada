"""Resumable training state without pickle: tensors in safetensors, everything else in JSON.

A checkpoint is a folder `RUN/checkpoints/step-NNNNNNN/`; `RUN/checkpoints/latest.json` points at the
last complete one and is replaced atomically only after the folder is fully written, so a kill -9
at any moment leaves a good checkpoint to resume from.
"""
import json
import random
import shutil
from pathlib import Path

import torch

from latentcat.checkpoints import load_tensors, save_tensors
from latentcat.errors import UserError
from latentcat.files import write_json

KEEP = 2


def flatten_optimizer(prefix: str, state: dict) -> tuple[dict[str, torch.Tensor], dict]:
    """optimizer.state_dict() -> (tensors keyed '{prefix}.{param}.{name}', JSON-able rest)."""
    tensors, scalars = {}, {}
    for idx, per_param in state["state"].items():
        for name, value in per_param.items():
            if torch.is_tensor(value):
                tensors[f"{prefix}.{idx}.{name}"] = value
            else:
                scalars[f"{idx}.{name}"] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def unflatten_optimizer(prefix: str, tensors: dict[str, torch.Tensor], meta: dict) -> dict:
    state: dict[int, dict] = {}
    for key, value in tensors.items():
        if key.startswith(prefix + "."):
            idx, name = key[len(prefix) + 1:].split(".", 1)
            state.setdefault(int(idx), {})[name] = value
    for key, value in meta["scalars"].items():
        idx, name = key.split(".", 1)
        state.setdefault(int(idx), {})[name] = value
    return {"state": dict(sorted(state.items())), "param_groups": meta["param_groups"]}


def rng_state() -> tuple[dict[str, torch.Tensor], dict]:
    """This process's random generators: torch (CPU and CUDA) and Python's `random`."""
    tensors = {"torch_cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        tensors["torch_cuda"] = torch.cuda.get_rng_state()
    version, internal, gauss = random.getstate()
    return tensors, {"python": [version, list(internal), gauss]}


def set_rng_state(tensors: dict[str, torch.Tensor], meta: dict) -> None:
    torch.set_rng_state(tensors["torch_cpu"])
    if "torch_cuda" in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state(tensors["torch_cuda"])
    version, internal, gauss = meta["python"]
    random.setstate((version, tuple(internal), gauss))


def step_dir(run_dir, step: int) -> Path:
    return Path(run_dir) / "checkpoints" / f"step-{step:07d}"


def save_rng(run_dir, step: int, rank: int) -> None:
    tensors, meta = rng_state()
    save_tensors(step_dir(run_dir, step) / f"rng-{rank}.safetensors", tensors, {"kind": "rng", "rng": json.dumps(meta)})


def save_main_state(run_dir, step: int, tensors: dict[str, torch.Tensor], meta: dict) -> None:
    """Write the shared state, then point `latest.json` at it, then prune old checkpoints."""
    folder = step_dir(run_dir, step)
    save_tensors(folder / "state.safetensors", tensors, {"kind": "training-state", "state": json.dumps(meta)})
    write_json(Path(run_dir) / "checkpoints" / "latest.json", {"step": step, "folder": folder.name})
    old = sorted(p for p in folder.parent.glob("step-*") if p.is_dir() and p != folder)
    for stale in old[:max(len(old) - (KEEP - 1), 0)]:
        shutil.rmtree(stale, ignore_errors=True)


def latest_checkpoint(run_dir) -> Path | None:
    pointer = Path(run_dir) / "checkpoints" / "latest.json"
    if not pointer.is_file():
        return None
    try:
        folder = pointer.parent / json.loads(pointer.read_text())["folder"]
    except (ValueError, KeyError) as e:
        raise UserError(f"checkpoint pointer is unreadable ({e})", pointer) from None
    if not (folder / "state.safetensors").is_file():
        raise UserError(f"points at {folder.name}, which has no state.safetensors", pointer)
    return folder


def load_main_state(folder: Path) -> tuple[dict[str, torch.Tensor], dict]:
    tensors, metadata = load_tensors(folder / "state.safetensors", "training state")
    return tensors, json.loads(metadata["state"])


def module_state(tensors: dict[str, torch.Tensor], name: str) -> dict[str, torch.Tensor]:
    """One module's state dict out of a checkpoint's tensors, which are stored as `<module>.<key>`."""
    prefix = name + "."
    return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}


def load_rng(folder: Path, rank: int) -> None:
    path = folder / f"rng-{rank}.safetensors"
    if not path.is_file():
        raise UserError(f"no random state for process {rank}: resume with the same number of processes", folder)
    tensors, metadata = load_tensors(path, "random state")
    set_rng_state(tensors, json.loads(metadata["rng"]))


@torch.no_grad()
def average_buffers(accelerator, modules) -> None:
    """Average floating buffers (w_avg, BatchNorm statistics) across processes, so replicas stay identical."""
    if accelerator.num_processes == 1:
        return
    for module in modules:
        for b in module.buffers():
            if b.is_floating_point():
                b.copy_(accelerator.reduce(b, reduction="mean"))


def check_replicas(accelerator, modules, step: int, log=print) -> None:
    """Raise if data-parallel replicas have drifted apart (they must hold identical weights and buffers)."""
    if accelerator.num_processes == 1:
        return
    sums = torch.stack([torch.cat([t.detach().double().flatten() for t in m.state_dict().values()
                                   if t.is_floating_point()]).sum() for m in modules])
    gathered = accelerator.gather(sums.unsqueeze(0))
    if not torch.equal(gathered.min(0).values, gathered.max(0).values):
        raise RuntimeError(f"data-parallel replicas diverged at step {step}: {gathered.tolist()}")
    if accelerator.is_main_process:
        log(f"step {step}: {accelerator.num_processes} replicas identical")


def flat_hparams(d: dict, prefix: str = "") -> dict:
    """TensorBoard hparams want scalars: flatten nested dicts and stringify the rest."""
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flat_hparams(v, f"{prefix}{k}."))
        else:
            out[prefix + k] = v if isinstance(v, (int, float, str, bool)) else json.dumps(v)
    return out
