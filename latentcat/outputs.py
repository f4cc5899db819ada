"""The --out folder of one run: the only way a command writes files, so "never overwrite what we did not write"
is enforced in one place.

- Before any work: the folder must be new, empty, or hold only files that latentcat wrote, in any subfolder
  (each is recorded with its SHA-256 in a manifest, so a file the user replaced counts as theirs).
- A lock keeps a second run out while this one writes.
- Every file is written atomically and recorded before it takes its name, so a crash at any moment leaves
  only whole files, each of them known.
- summary.json is rewritten as results come in: an interrupted run leaves a valid one saying what was done.
"""
import hashlib
import json
import platform
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from filelock import FileLock, Timeout

from latentcat.errors import UserError
from latentcat.files import atomic_path

MANIFEST = ".latentcat-manifest.jsonl"
LOCK = ".latentcat.lock"
SUMMARY = "summary.json"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass
class Summary:
    """What a command ran and what came of it: written to summary.json as it grows."""
    command: str
    settings: dict
    generator: dict | None = None
    items: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    extra: dict = field(default_factory=dict)
    finished: bool = False

    def as_json(self) -> dict:
        data = {"command": self.command, "argv": " ".join(shlex.quote(a) for a in sys.argv),
                "settings": self.settings, **self.extra, "items": self.items, "errors": self.errors,
                "finished": self.finished,
                "environment": {"python": platform.python_version(), "torch": torch.__version__}}
        if self.generator is not None:
            data["generator"] = self.generator
        return data


class OutputFolder:
    """Use as a context manager: entering checks the folder and takes its lock; leaving releases it.
    `writes=False`: a process that runs the job beside the main one of a split run reads what is here (--resume)
    and writes nothing: the main process writes the same files."""

    def __init__(self, path, writes: bool = True):
        self.root = Path(path)
        self.writes = writes
        self._lock: FileLock | None = None
        self._known: dict[str, set[str]] = {}

    def __enter__(self) -> "OutputFolder":
        if not self.writes:
            self._known = self._read_manifest()
            return self
        if self.root.exists() and not self.root.is_dir():
            raise UserError("--out exists and is not a folder", self.root)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self._lock = FileLock(str(self.root / LOCK), timeout=0)
            self._lock.acquire()
        except Timeout:
            raise UserError("another latentcat run is writing to this --out folder; wait for it, or choose another "
                            "--out", self.root) from None
        except OSError as e:
            raise UserError(f"cannot write to --out ({e.strerror or e})", self.root) from None
        try:
            self._known = self._read_manifest()
            self._refuse_foreign_files()
        except BaseException:
            self._lock.release()
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self._lock is not None:
            self._lock.release()

    def _read_manifest(self) -> dict[str, set[str]]:
        known: dict[str, set[str]] = {}
        path = self.root / MANIFEST
        if path.is_file():
            for line in path.read_text(errors="replace").splitlines():
                try:
                    entry = json.loads(line)
                    known.setdefault(str(entry["name"]), set()).add(str(entry["sha256"]))
                except (ValueError, KeyError, TypeError):
                    continue  # a line torn by a crash: its file is then not known, so it is never overwritten
        return known

    def _is_ours(self, name: str) -> bool:
        return name in self._known and _sha256(self.root / name) in self._known[name]

    def holds(self, name: str) -> bool:
        """Whether `name` is here as latentcat wrote it (an earlier run's output that may be kept)."""
        return (self.root / name).is_file() and self._is_ours(name)

    def previous_summary(self) -> dict | None:
        """The summary.json an earlier run left here, for --resume (None: there is none)."""
        if not self.holds(SUMMARY):
            return None
        try:
            return json.loads((self.root / SUMMARY).read_text())
        except ValueError:
            return None

    def _refuse_foreign_files(self) -> None:
        for path in sorted(self.root.rglob("*")):
            name = path.relative_to(self.root).as_posix()
            if any(part.startswith(".") for part in name.split("/")) or path.is_dir():
                continue  # hidden files are never written here (but for the manifest and the lock)
            if not path.is_file() or not self._is_ours(name):
                raise UserError(f"--out already holds {name}, which latentcat did not write; nothing was "
                                "overwritten: choose another --out", self.root)

    def write(self, name: str, save: Callable[[Path], None]) -> str:
        """Write `name` (a path relative to the folder) by calling save(temporary path); returns `name`."""
        if not self.writes:
            return name
        target = self.root / name
        if target.exists() and not self._is_ours(name):
            raise UserError(f"{name} appeared in --out while this run was writing; it was not overwritten",
                            self.root)
        try:
            with atomic_path(target) as tmp:
                save(tmp)
                digest = _sha256(tmp)
                with open(self.root / MANIFEST, "a") as manifest:
                    manifest.write(json.dumps({"name": name, "sha256": digest}) + "\n")
                    manifest.flush()
                self._known.setdefault(name, set()).add(digest)
        except OSError as e:
            raise UserError(f"could not write {name} ({e.strerror or e}); what was written before stays",
                            self.root) from None
        return name

    def png(self, name: str, image) -> str:
        return self.write(name, lambda p: image.save(p, format="PNG"))

    def gif(self, name: str, frames: list, seconds_per_frame: float) -> str:
        return self.write(name, lambda p: frames[0].save(p, format="GIF", save_all=True, append_images=frames[1:],
                                                         duration=int(seconds_per_frame * 1000), loop=0))

    def json(self, name: str, data) -> str:
        return self.write(name, lambda p: p.write_text(json.dumps(data, indent=2) + "\n"))

    def save_summary(self, summary: Summary) -> None:
        self.json(SUMMARY, summary.as_json())
