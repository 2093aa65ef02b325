"""Real servers on loopback for the tests: `bentoml serve` of the tabular classifier, and
Prometheus.

Each runs as its own process on a free loopback port and is stopped at teardown, whatever the
test did. The model is trained into a throwaway BentoML home by the same command a developer
runs, so nothing touches the developer's own model store.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil  # a bentoml dependency; finds the workers, which circus starts in own sessions
import pytest

from tests.conftest import ROOT

SERVICE = "services.tabular_classifier.service:TabularClassifier"
SERVE = [sys.executable, "-m", "bentoml", "serve"]
# About 15 s on a developer machine; a busy CI runner gets room before the test gives up.
READY_DEADLINE_SECONDS = 120
STOP_DEADLINE_SECONDS = 30
PROMETHEUS_SCRIPT = ROOT / "scripts" / "prometheus.sh"


@dataclass(frozen=True)
class Server:
    """A server process, a client of it and where its stderr goes."""

    process: subprocess.Popen[bytes]
    client: httpx.Client
    stderr_path: Path


_handed_out: set[int] = set()


def free_loopback_port() -> int:
    """A loopback port nothing listens on, and not one handed out before in this session: a
    server given a port may not have bound it yet when the next one is chosen."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port not in _handed_out:
            _handed_out.add(port)
            return port


# --- BentoML -------------------------------------------------------------------------------


def trained_bentoml_env(home: Path) -> dict[str, str]:
    """The environment of a BentoML home ``home`` into which the classifier has been trained."""
    env = os.environ | {
        "BENTOML_DO_NOT_TRACK": "True",
        "BENTOML_HOME": str(home),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    trained = subprocess.run(
        [sys.executable, "-m", "services.tabular_classifier.train"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if trained.returncode != 0:
        pytest.fail(f"training failed ({trained.returncode}):\n{trained.stderr}")
    return env


@contextlib.contextmanager
def bento_servers(home: Path, ports: Sequence[int] = ()) -> Iterator[list[httpx.Client]]:
    """Clients of `bentoml serve` processes of the classifier, trained once into ``home``, one
    on each loopback port of ``ports`` (default: one, on a free port). They start side by
    side, so two cost little more time than one."""
    env = trained_bentoml_env(home)
    with contextlib.ExitStack() as stack:
        servers = []
        for index, port in enumerate(ports or [free_loopback_port()]):
            # BentoML sums its workers' metrics from files in $BENTOML_HOME/
            # prometheus_multiproc_dir, which it empties at start: servers sharing a home
            # would wipe and report each other's counters. Each gets a home of its own,
            # with a copy of the trained model store.
            own_home = home / f"serve-{index}"
            shutil.copytree(home / "models", own_home / "models")
            server = _start(
                [*SERVE, SERVICE, "--host", "127.0.0.1", "--port", str(port)],
                port,
                own_home,
                env=env | {"BENTOML_HOME": str(own_home)},
                # Its own process group, so teardown can signal the arbiter and its workers.
                start_new_session=True,
            )
            stack.callback(_stop_bento, server)
            servers.append(server)
        for server in servers:
            _wait_until(server, "/readyz", f"bentoml serve {SERVICE}")
        yield [server.client for server in servers]


def _stop_bento(server: Server) -> None:
    """SIGTERM the server's process group (the circus arbiter stops its workers), then kill
    whatever is left of the tree if it has not exited in time."""
    server.client.close()
    process = server.process
    try:
        workers = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        workers = []
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_DEADLINE_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    for worker in workers:
        with contextlib.suppress(psutil.NoSuchProcess):
            worker.kill()  # psutil checks the pid still names the same process first


# --- Prometheus ----------------------------------------------------------------------------


def prometheus_binary() -> str:
    """The path scripts/prometheus.sh prints; the test fails, naming the fix, without one."""
    found = subprocess.run(
        ["bash", str(PROMETHEUS_SCRIPT)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if found.returncode != 0 or not found.stdout.strip():
        pytest.fail(
            f"no Prometheus binary: {PROMETHEUS_SCRIPT.relative_to(ROOT)} exited with "
            f"{found.returncode}:\n{found.stderr[-3000:]}"
        )
    return found.stdout.strip().splitlines()[-1]


@contextlib.contextmanager
def prometheus_server(config: str, directory: Path) -> Iterator[httpx.Client]:
    """A client of a Prometheus running configuration ``config`` (YAML), with its file and
    its data in ``directory``."""
    binary = prometheus_binary()
    config_path = directory / "prometheus.yml"
    config_path.write_text(config)
    port = free_loopback_port()
    server = _start(
        [
            binary,
            f"--config.file={config_path}",
            f"--storage.tsdb.path={directory / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        port,
        directory,
    )
    try:
        _wait_until(server, "/-/ready", "prometheus")
        yield server.client
    finally:
        server.client.close()
        server.process.terminate()
        try:
            server.process.wait(timeout=STOP_DEADLINE_SECONDS)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


# --- both ----------------------------------------------------------------------------------


def _start(
    command: list[str],
    port: int,
    logs: Path,
    *,
    env: dict[str, str] | None = None,
    start_new_session: bool = False,
) -> Server:
    logs.mkdir(parents=True, exist_ok=True)
    stderr_path = logs / "stderr.log"
    with (logs / "stdout.log").open("wb") as stdout, stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=stdout,
            stderr=stderr,
            start_new_session=start_new_session,
        )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
    return Server(process, client, stderr_path)


def _wait_until(server: Server, ready_path: str, name: str) -> None:
    """Poll ``ready_path`` until it answers 200; fail with the server's stderr if the process
    exits first or the deadline passes."""
    deadline = time.monotonic() + READY_DEADLINE_SECONDS
    while not _answers_200(server.client, ready_path):
        exit_code = server.process.poll()
        if exit_code is not None or time.monotonic() > deadline:
            state = (
                f"exited with {exit_code}"
                if exit_code is not None
                else f"was not ready after {READY_DEADLINE_SECONDS} s"
            )
            pytest.fail(
                f"{name} {state}; its stderr:\n"
                + server.stderr_path.read_text(errors="replace")[-5000:]
            )
        time.sleep(0.2)


def _answers_200(client: httpx.Client, path: str) -> bool:
    try:
        return client.get(path, timeout=2).status_code == 200
    except httpx.TransportError:  # not listening yet
        return False
