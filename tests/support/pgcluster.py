"""A PostgreSQL cluster of a test's own (initdb + pg_ctl as the ``postgres`` user), which
the test may stop, start and restart without disturbing the shared server others use."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from tests.support.server import free_port


def _bin_dir() -> Path | None:
    root = Path("/usr/lib/postgresql")
    versions = sorted(root.glob("*/bin/initdb")) if root.exists() else []
    return versions[-1].parent if versions else None


def cluster_tools_missing() -> str | None:
    """Why a private cluster cannot be made here, or None."""
    if _bin_dir() is None:
        return "PostgreSQL's initdb is not installed (/usr/lib/postgresql/*/bin)"
    if shutil.which("runuser") is None or os.geteuid() != 0:
        return "starting a private PostgreSQL cluster needs root and runuser"
    try:
        import pwd

        pwd.getpwnam("postgres")
    except KeyError:
        return "there is no postgres user"
    return None


@dataclass
class PrivateCluster:
    directory: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        bin_dir = _bin_dir()
        assert bin_dir is not None
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory}"
        command = ["runuser", "-u", "postgres", "--", str(bin_dir / "pg_ctl"),
                   "-D", str(self.directory / "data"), "-o", options,
                   "-l", str(self.directory / "server.log"), *args]  # fmt: skip
        return subprocess.run(command, capture_output=True, text=True, check=check, timeout=60)

    def start(self) -> None:
        self._ctl("start", "-w", "-t", "30")

    def stop(self, mode: str = "fast") -> None:
        self._ctl("stop", "-w", "-m", mode, check=False)

    def restart(self, mode: str = "fast") -> None:
        self._ctl("restart", "-w", "-t", "30", "-m", mode)


@contextmanager
def private_cluster() -> Iterator[PrivateCluster]:
    """A fresh cluster on a free loopback port, trust authentication; removed afterwards.
    Skips where it cannot be made, except under ``CI=true``, where that is a failure."""
    why = cluster_tools_missing()
    if why is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"a private PostgreSQL cluster is required in CI: {why}")
        pytest.skip(why)
    bin_dir = _bin_dir()
    assert bin_dir is not None
    directory = Path(tempfile.mkdtemp(prefix="cofre-pg-", dir="/tmp"))  # postgres can reach it
    shutil.chown(directory, "postgres", "postgres")
    cluster = PrivateCluster(directory, free_port())
    try:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(bin_dir / "initdb"), "-D",
             str(directory / "data"), "-A", "trust", "-U", "postgres", "--no-sync"],
            capture_output=True, text=True, check=True, timeout=120,
        )  # fmt: skip
        cluster.start()
        with psycopg.connect(cluster.url, autocommit=True) as conn:
            conn.execute("SELECT 1")
        yield cluster
    finally:
        cluster.stop("immediate")
        shutil.rmtree(directory, ignore_errors=True)
