"""Start a real `satellite serve` process for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def satellite_env(
    data_dir: Path, database_url: str, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SATELLITE_")}
    env["SATELLITE_DATA_DIR"] = str(data_dir)
    if database_url:
        env["SATELLITE_DATABASE_URL"] = database_url
    env.update(extra or {})
    return env


def run_satellite(env: Mapping[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "satellite", *args], env=dict(env),
                            capture_output=True, text=True, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"satellite {' '.join(args)} failed: {result.stderr}")
    return result


@dataclass
class Server:
    url: str
    process: subprocess.Popen[str]
    log: Path

    def stop(self, timeout: float = 15) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


@contextmanager
def serving(env: Mapping[str, str], log_dir: Path) -> Iterator[Server]:
    """Run `satellite serve` on a free loopback port until the block ends."""
    port = free_port()
    log = log_dir / f"serve-{port}.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "satellite", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=dict(env), stdout=out, stderr=subprocess.STDOUT, text=True)
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise AssertionError(f"satellite serve exited: {log.read_text()}")
            try:
                if requests.get(server.url + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"satellite serve did not answer: {log.read_text()}")
            time.sleep(0.1)
        yield server
    finally:
        server.stop()
