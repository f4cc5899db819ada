"""Inference split across processes: under `accelerate launch infer.py ...` each process inverts every N-th batch
on its own device, and after each round the processes exchange their results, so every process holds all of them
and runs the rest of the job as one process would. Only the main process writes (one summary.json, one grid, one
set of curves, made from every photo's own result, exactly as a single process makes them).

A plain `python infer.py ...` is one shard of one: nothing is initialised, nothing is exchanged.
"""
import contextlib
import os
import signal
import sys
from dataclasses import dataclass

import torch

from latentcat.errors import UserError


@dataclass(frozen=True)
class Shards:
    index: int = 0     # this process's rank
    count: int = 1     # processes in the run
    local: int = 0     # this process's rank on its machine: its GPU

    @classmethod
    def from_launch(cls) -> "Shards":
        """The processes `accelerate launch` (torchrun) started, with the process group initialised."""
        if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
            return cls()
        from accelerate import PartialState  # only a launched run pays for the process group
        state = PartialState(cpu=not torch.cuda.is_available())
        return cls(state.process_index, state.num_processes, state.local_process_index)

    @property
    def is_main(self) -> bool:
        return self.index == 0

    def device(self, name: str) -> str:
        """--device for this process: a bare `cuda` means this process's own GPU."""
        return f"cuda:{self.local}" if self.count > 1 and name == "cuda" else name

    def mine(self, batches: list) -> list:
        """Round by round, the batch this process inverts (None where a round has fewer batches than processes)."""
        return [(batches[first + self.index] if first + self.index < len(batches) else None)
                for first in range(0, len(batches), self.count)]

    def exchange(self, outcome) -> list:
        """Every process's outcome of this round, in rank order (the order one process would have made them)."""
        if self.count == 1:
            return [outcome]
        from accelerate.utils import gather_object
        return gather_object([outcome])

    def label(self) -> str:
        return f"shard {self.index + 1} of {self.count}"

    @contextlib.contextmanager
    def main_speaks(self):
        """Only the main process prints: the others do the same work and would repeat it line for line. A problem
        of the user's (a UserError) is the main process's to tell; anything else still names its shard."""
        if self.is_main:
            yield
            return
        try:
            with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
                yield
        except UserError:
            raise SystemExit(1) from None
        except Exception as e:  # a failure of this process alone: its one line is the only report of it
            print(f"error: {self.label()} failed: {type(e).__name__}: {e}", file=sys.stderr)
            raise SystemExit(1) from None

    def on_launcher_stop(self, out_dir) -> None:
        """When the launcher stops this process because another one ended, say so in one line (the main process
        only) and exit non-zero; what the main process has written stays, and --resume continues it."""
        def stop(signum, frame):
            if self.is_main:
                print(f"error: another process of this {self.count}-process run ended before it finished (the "
                      f"launcher's report names its rank); the photos already written stay in {out_dir} (invert "
                      "--resume continues from them)", file=sys.stderr)
            os._exit(1)
        if self.count > 1:
            signal.signal(signal.SIGTERM, stop)
