"""A studio in a child process on this machine, for the scripts that drive a real server (the latency benchmark,
the tour that takes the README's screenshots), a free port for the tests' in-process one, and the headless
Chromium they all drive it with. Free of Gradio."""
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# headless Chromium in a container or on CI: no sandbox, no GPU, nothing fetched from the network
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--no-first-run"]
NO_CHROMIUM = "no Chromium on this machine (Debian: apt-get install chromium)"


def chromium() -> str | None:
    """The system's Chromium, if there is one."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_studio(port: int, *flags: str) -> subprocess.Popen:
    """`infer.py studio` (shipped models unless `flags` say otherwise) on 127.0.0.1:`port`."""
    return subprocess.Popen([sys.executable, "infer.py", "studio", "--port", str(port), *flags], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_until_up(url: str, server: subprocess.Popen | None, seconds: float = 300) -> None:
    """Return once `url` answers; exit with a message if the server ends or `seconds` pass first."""
    deadline = time.time() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:  # not up yet
            if time.time() > deadline or (server is not None and server.poll() is not None):
                raise SystemExit(f"the studio did not come up at {url}")
            time.sleep(1)
