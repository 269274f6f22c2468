"""Several `streamlit run` replicas of the app behind HAProxy, on loopback, configured by
deploy/haproxy.cfg itself (its server lines rewritten for N loopback ports): what the replica tests
and `bench/load.py --replicas N` run."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "deploy" / "haproxy.cfg"
COOKIE = "CNNVIZ_REPLICA"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def haproxy_binary() -> str | None:
    """Debian's haproxy, or None where it is not installed."""
    return shutil.which("haproxy") or ("/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None)


def loopback_config(ports: list[int]) -> str:
    """deploy/haproxy.cfg with one `server appK 127.0.0.1:PORT cookie appK` line per replica."""
    text = CONFIG.read_text()
    servers = "".join(f"    server app{k} 127.0.0.1:{port} cookie app{k}\n" for k, port in enumerate(ports, 1))
    text, count = re.subn(r"(?:^    server app\d+ .*\n)+", servers, text, flags=re.M)
    if count != 1:
        raise RuntimeError("deploy/haproxy.cfg: expected one block of `server appN` lines")
    return text


def healthy(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(url + "/_stcore/health", timeout=timeout) as response:
            return response.status == 200
    except OSError:
        return False


class Replicas:
    """N app replicas (same environment, same cookie secret) and HAProxy in front of them.

    `url` is the balancer's address; `replica_urls[k]` reaches replica k+1 directly. `extra_args` go to
    every `streamlit run`, `env` is added to every replica's environment (the training backend).
    """

    def __init__(self, count: int = 2, *, env: dict | None = None, extra_args: tuple[str, ...] = ()):
        binary = haproxy_binary()
        if binary is None:
            raise FileNotFoundError("haproxy is not installed (apt-get install haproxy)")
        self.ports = [free_port() for _ in range(count)]
        self.replica_urls = [f"http://127.0.0.1:{port}" for port in self.ports]
        # One secret for all: whichever replica reads a signed cookie can check it.
        environment = {**os.environ, "STREAMLIT_SERVER_COOKIE_SECRET": os.urandom(16).hex(), **(env or {})}
        self.processes: list[subprocess.Popen | None] = []
        for port in self.ports:
            command = [
                sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true",
                f"--server.port={port}", "--server.address=127.0.0.1", "--browser.gatherUsageStats=false",
                *extra_args,
            ]  # fmt: skip
            self.processes.append(
                subprocess.Popen(
                    command, cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )
            )
        front = free_port()
        self.url = f"http://127.0.0.1:{front}"
        self._folder = Path(tempfile.mkdtemp(prefix="cnnviz-haproxy-"))
        config = self._folder / "haproxy.cfg"
        config.write_text(loopback_config(self.ports))
        balancer_env = {**os.environ, "CNNVIZ_BIND": f"127.0.0.1:{front}"}
        self.haproxy = subprocess.Popen(
            [binary, "-db", "-f", str(config)], env=balancer_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            # Generous deadlines: on a loaded machine two servers start slowly, and the checks come late.
            self._wait(lambda: all(healthy(url) for url in self.replica_urls), "the replicas did not start", 300)
            # HAProxy marks a server up after two good checks, 2 s apart.
            self._wait(lambda: len(self.replicas_in_rotation()) == count, "HAProxy did not see the replicas", 120)
        except Exception:
            self.close()
            raise

    def _wait(self, condition, message: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.haproxy.poll() is not None:
                raise RuntimeError("haproxy ended: " + self.haproxy.stderr.read().decode()[-2000:])
            if time.monotonic() > deadline:
                raise TimeoutError(message)
            time.sleep(0.2)

    def new_session_replica(self) -> str:
        """The replica the balancer pins a new browser to ('app1', 'app2'...): its cookie's value."""
        with urllib.request.urlopen(self.url + "/_stcore/health", timeout=5) as response:
            cookies = response.headers.get_all("Set-Cookie") or []
        for cookie in cookies:
            name, _, rest = cookie.partition("=")
            if name.strip() == COOKIE:
                return rest.split(";")[0]
        raise RuntimeError("the balancer set no affinity cookie")

    def replicas_in_rotation(self, tries: int = 8) -> set[str]:
        """The replicas new sessions are sent to now (asked `tries` times; leastconn spreads them)."""
        seen = set()
        for _ in range(tries):
            with contextlib.suppress(OSError, RuntimeError):
                seen.add(self.new_session_replica())
        return seen

    def stop_replica(self, number: int) -> None:
        """Stop replica `number` (1-based), as a crash or a rolling update would."""
        process = self.processes[number - 1]
        process.terminate()
        process.wait(timeout=30)
        self.processes[number - 1] = None

    def close(self) -> None:
        for process in [*self.processes, self.haproxy]:
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
        shutil.rmtree(self._folder, ignore_errors=True)
