"""The README's shell blocks run as written, in order, in one bash, against a real server.

Every ```sh block of README.md is run, except one marked ``<!-- not run: reason -->`` on
the line before it (the two commands: the test starts the server itself, as
``./scripts/serve`` does, on a free loopback port, and is itself run by
``./scripts/test``). The only thing changed is where the server listens: the README reads
``URL`` when it is already set, and the test sets it. The blocks run in a fresh directory
that holds the server's ``./data`` and a link to the project's ``.venv``, so the README's
relative paths work as in a checkout.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.server import free_port

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
_FENCE = re.compile(r"^```(\w*)\s*$")
_NOT_RUN = re.compile(r"^<!--\s*not run:\s*(.+?)\s*-->\s*$")


@dataclass(frozen=True)
class Block:
    line: int  # of the opening fence, 1-based
    code: str
    skipped: str | None  # the reason, for a block marked "not run"


def shell_blocks(text: str) -> list[Block]:
    """The ```sh blocks of ``text``, in order."""
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        if fence is None:
            i += 1
            continue
        start = i
        i += 1
        body: list[str] = []
        while i < len(lines) and not _FENCE.match(lines[i]):
            body.append(lines[i])
            i += 1
        i += 1
        if fence.group(1) != "sh":
            continue
        previous = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        marker = _NOT_RUN.match(previous.strip())
        blocks.append(Block(start + 1, "\n".join(body), marker.group(1) if marker else None))
    return blocks


def test_blocks_are_found() -> None:
    blocks = shell_blocks(README.read_text())
    assert len([b for b in blocks if b.skipped is None]) >= 10
    assert [b.skipped is not None for b in blocks[:2]] == [True, True]  # the two commands


def _clean_env(home: Path, url: str) -> dict[str, str]:
    """The caller's environment without AWS or Cofre settings, as a new user's shell."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "COFRE_")) and k not in ("VIRTUAL_ENV", "PYTHONPATH")
    }
    env.update(HOME=str(home), URL=url, TERM="dumb")
    return env


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A directory like a checkout after ``./scripts/serve``: ``.venv`` and a live ``./data``."""
    work = tmp_path / "work"
    work.mkdir()
    (work / ".venv").symlink_to(REPO / ".venv")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(tmp_path / "server.log", "wb")
    # what ./scripts/serve runs, on another port: first start initialises ./data
    server = subprocess.Popen(
        [str(REPO / ".venv" / "bin" / "cofre"), "serve", "--data-dir", "./data",
         "--port", str(port), "--log-level", "warning"],
        cwd=work, env=_clean_env(tmp_path, url), stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, (tmp_path / "server.log").read_text()
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "cofre serve did not become healthy"
            time.sleep(0.1)
        yield work, url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=15)
        log.close()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_readme_runs_as_written(workdir: tuple[Path, str], tmp_path: Path) -> None:
    work, url = workdir
    parts = ["set -eo pipefail"]
    for block in shell_blocks(README.read_text()):
        if block.skipped is None:
            parts += [f'echo "=== README.md line {block.line} ($SECONDS s)" >&2', block.code]
    script = tmp_path / "readme.sh"
    script.write_text("\n".join(parts) + "\n")
    result = subprocess.run(
        ["bash", str(script)], cwd=work, env=_clean_env(tmp_path, url),
        capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip
    failed_at = re.findall(r"=== README.md line \d+", result.stderr)
    assert result.returncode == 0, (
        f"README block failed ({failed_at[-1] if failed_at else 'before the first block'}):\n"
        f"{result.stderr[-4000:]}\n--- stdout:\n{result.stdout[-2000:]}"
    )
