"""Start JupyterLab the way `make lab` does, on a free loopback port, and stop it again."""
from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "musiclab-test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_lab(timeout_s: float = 60.0, extra_args: str = "", lab_dir: Path | None = None):
    """Run `make lab` on loopback (over ``lab_dir``, default notebooks/); yield its base URL once
    /api/status answers; then stop it."""
    port = free_port()
    args = f"--no-browser --ip=127.0.0.1 --port={port} --IdentityProvider.token={TOKEN} {extra_args}"
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "lab", f"LAB_ARGS={args}"] + ([f"LAB_DIR={lab_dir}"] if lab_dir else []),
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"make lab exited with {proc.returncode}:\n{proc.stdout.read().decode()}")
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"{base}/api/status?token={TOKEN}", timeout=2) as reply:
                    json.load(reply)
                    break
            if time.monotonic() > deadline:
                raise TimeoutError(f"JupyterLab did not answer on {base} within {timeout_s} s")
            time.sleep(0.5)
        yield base
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
