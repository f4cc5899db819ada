"""A studio in a child process on this machine, for the scripts that drive a real server (the latency benchmark,
the tour that takes the README's screenshots) and a free port for the tests' in-process one. Free of Gradio."""
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


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
