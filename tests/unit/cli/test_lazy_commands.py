"""Each ``cofre`` subcommand imports only what it needs (issue 22): the command table is
lazy, so ``--version`` and ``--help`` load no server, storage or AWS SDK module."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest

from cofre.cli.main import COMMANDS, main

HEAVY = ("cofre.api", "cofre.storage", "cofre.container", "botocore", "psycopg", "uvicorn")


def _modules_after(*args: str) -> set[str]:
    """The modules a fresh interpreter holds after running ``cofre ARGS``."""
    script = (
        "import json, sys\n"
        "from cofre.cli.main import main\n"
        "try:\n"
        f"    main({list(args)!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "sys.stderr.write(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    return set(json.loads(done.stderr.splitlines()[-1]))


@pytest.mark.parametrize("args", [("--version",), ("--help",)])
def test_version_and_help_load_no_heavy_module(args: tuple[str, ...]) -> None:
    loaded = _modules_after(*args)
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY or m.startswith(HEAVY))
    assert heavy == []


def test_encrypt_help_loads_neither_server_nor_storage() -> None:
    loaded = _modules_after("encrypt", "--help")
    assert "cofre.cli.esdk.commands" in loaded
    assert not [m for m in loaded if m.startswith(("cofre.api", "cofre.storage", "uvicorn"))]


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_table_entry_names_a_command(name: str) -> None:
    lazy = main.commands[name]
    command = lazy.load()  # type: ignore[attr-defined]
    assert isinstance(command, click.Command)
    assert command.help or command.callback.__doc__  # type: ignore[union-attr]


def test_subcommand_errors_keep_their_exit_status() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cofre.cli.main", "operator", "no-such-command"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "No such command 'no-such-command'" in done.stderr
    assert "operator --help" in done.stderr
