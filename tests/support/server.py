"""Real ``cofre serve`` processes for tests: free loopback port, temp data dir, real signing."""

from __future__ import annotations

import base64
import os
import resource
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import httpx
import psycopg
from botocore.config import Config

ACCOUNT_ID = "111122223333"
ACCESS_KEY_ID = "AKIACOFRETESTADMIN01"
SECRET_ACCESS_KEY = "cofre-test-secret-access-key-0123456789"
REGION = "us-east-1"
POSTGRES_URL = os.environ.get(
    "COFRE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
COFRE = str(Path(sys.executable).with_name("cofre"))


def random_root_key() -> str:
    """A fresh root key, as ``COFRE_ROOT_KEY`` takes it (32 random bytes, base64)."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


class PortTakenError(RuntimeError):
    """Another process took the port between choosing it and binding it."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def postgres_available() -> bool:
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh, empty database on the test PostgreSQL server; dropped afterwards."""
    name = f"cofre_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"'.encode())
    base = POSTGRES_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


CLOCK_ENV = "COFRE_CLOCK_OFFSET_FILE"  # service.clock.OffsetClock


@dataclass
class CofreServer:
    """One ``cofre serve`` process tree.

    ``tls_cafile``: for a server started with ``--tls-cert``/``--tls-key`` (in
    ``extra_args``), the certificate to trust; the URL is then ``https://``, and the
    readiness probe and :meth:`client` trust that file only.
    """

    data_dir: Path
    database: str | None = None
    workers: int = 1
    root_key: str = field(default_factory=random_root_key)
    extra_args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    tls_cafile: Path | None = None
    log_through_pipe: bool = False  # the log is not a file of the server's (see full_disk)
    log_level: str = "warning"

    @property
    def url(self) -> str:
        scheme = "http" if self.tls_cafile is None else "https"
        return f"{scheme}://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0, *, probe: str = "/health") -> CofreServer:
        """Start and wait for ``probe`` to answer 200 (``/health/live`` for a server that
        starts sealed); pick another free port if this one was taken."""
        chosen = self.port
        for _ in range(3):
            self.port = chosen or free_port()
            try:
                return self._start_once(timeout, probe)
            except PortTakenError:
                if chosen:
                    raise
        raise RuntimeError("no free port found")

    def _start_once(self, timeout: float, probe: str = "/health") -> CofreServer:
        args = [COFRE, "serve", "--host", "127.0.0.1", "--port", str(self.port),
                "--data-dir", str(self.data_dir), "--workers", str(self.workers),
                "--log-level", self.log_level, *self.extra_args]  # fmt: skip
        if self.database:
            args += ["--database", self.database]
        if CLOCK_ENV in self.env:  # the clock hook is honoured in development mode only
            args.append("--dev")
        env = dict(os.environ)
        env.update(
            COFRE_ADMIN_ACCESS_KEY_ID=ACCESS_KEY_ID,
            COFRE_ADMIN_SECRET_ACCESS_KEY=SECRET_ACCESS_KEY,
            COFRE_ACCOUNT_ID=ACCOUNT_ID,
            COFRE_ROOT_KEY=self.root_key,
        )
        # AWS's request quotas (5 CreateKey a second...) would throttle the suites'
        # bursts; the quota tests turn them on (ADR 20).
        env.setdefault("COFRE_QUOTAS", "off")
        env.update(self.env)
        self.log = self.data_dir.parent / f"server-{self.port}.log"
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        if self.log_through_pipe:
            self.process = subprocess.Popen(
                args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
            )
            threading.Thread(target=_copy, args=(self.process, self.log), daemon=True).start()
        else:
            with open(self.log, "ab") as log:
                self.process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
        trust: ssl.SSLContext | bool = True
        if self.tls_cafile is not None:
            trust = ssl.create_default_context(cafile=str(self.tls_cafile))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = self.log.read_text()[-3000:]
                if "cannot listen" in tail:
                    raise PortTakenError(tail)
                raise RuntimeError(f"cofre serve exited: {tail}")
            try:
                if httpx.get(f"{self.url}{probe}", verify=trust, timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"cofre serve did not become healthy: {self.log.read_text()[-3000:]}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        self.process = None

    def kill(self) -> None:
        """SIGKILL the server process (and, with --workers, its workers with it)."""
        if self.process is None:
            return
        pid = self.process.pid
        for child in child_pids(pid):
            os.kill(child, signal.SIGKILL)
        self.process.kill()
        self.process.wait(timeout=15)
        self.process = None

    @contextmanager
    def full_disk(self) -> Iterator[None]:
        """For the duration, no server process can make a file grow (RLIMIT_FSIZE 0: a
        write past a file's end fails with EFBIG, as on a full disk). Its log too, unless
        it was started with ``log_through_pipe``."""
        assert self.process is not None
        pids = [self.process.pid, *child_pids(self.process.pid)]
        limits = {pid: resource.prlimit(pid, resource.RLIMIT_FSIZE) for pid in pids}
        for pid, (_soft, hard) in limits.items():
            resource.prlimit(pid, resource.RLIMIT_FSIZE, (0, hard))
        try:
            yield
        finally:
            for pid, limit in limits.items():
                with suppress(ProcessLookupError):
                    resource.prlimit(pid, resource.RLIMIT_FSIZE, limit)

    @contextmanager
    def clock_offset(self, seconds: float) -> Iterator[None]:
        """Move the server's clock by ``seconds`` for the duration (needs ``CLOCK_ENV``)."""
        path = Path(self.env[CLOCK_ENV])
        path.write_text(str(seconds))
        time.sleep(0.25)  # the server rereads the file at most every 0.1 s
        try:
            yield
        finally:
            path.write_text("0")
            time.sleep(0.25)

    def client(self, service: str = "kms", *, validate: bool = True, **overrides: Any) -> Any:
        """A boto3 client; ``validate=False`` lets bad input reach the server's own checks.

        Over TLS it trusts ``tls_cafile`` only (``verify=None`` restores boto3's default).
        """
        params: dict[str, Any] = {
            "endpoint_url": self.url,
            "region_name": REGION,
            "aws_access_key_id": ACCESS_KEY_ID,
            "aws_secret_access_key": SECRET_ACCESS_KEY,
            "config": Config(retries={"max_attempts": 1}, parameter_validation=validate),
        }
        if self.tls_cafile is not None:
            params["verify"] = str(self.tls_cafile)
        params.update(overrides)
        return boto3.client(service, **params)

    def aws_cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ)
        env.update(
            AWS_ACCESS_KEY_ID=ACCESS_KEY_ID,
            AWS_SECRET_ACCESS_KEY=SECRET_ACCESS_KEY,
            AWS_DEFAULT_REGION=REGION,
            AWS_CONFIG_FILE="/dev/null",
            AWS_SHARED_CREDENTIALS_FILE="/dev/null",
            AWS_MAX_ATTEMPTS="1",
        )
        aws = str(Path(sys.executable).with_name("aws"))
        return subprocess.run(
            [aws, "--endpoint-url", self.url, "--output", "json", *args],
            env=env, capture_output=True, text=True, check=check, timeout=60,
        )  # fmt: skip


def _copy(process: subprocess.Popen[bytes], path: Path) -> None:
    """Copy a server's output to ``path`` as it comes."""
    assert process.stdout is not None
    with open(path, "ab") as log:
        for line in process.stdout:
            log.write(line)
            log.flush()


def child_pids(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (read from /proc)."""
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            found.append(int(entry.name))
    return found
