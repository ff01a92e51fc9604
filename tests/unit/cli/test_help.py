"""``cofre <command> --help`` describes every option and says its default (issue 22)."""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest

from cofre.cli.main import COMMANDS, main


def _commands() -> Iterator[tuple[str, click.Command]]:
    """Every command and subcommand, by its full name, lazy ones loaded."""

    def walk(path: str, command: click.Command) -> Iterator[tuple[str, click.Command]]:
        yield path, command
        if isinstance(command, click.Group):
            for name, sub in sorted(command.commands.items()):
                yield from walk(f"{path} {name}", sub)

    for name in sorted(COMMANDS):
        yield from walk(f"cofre {name}", main.commands[name].load())  # type: ignore[attr-defined]


COMMAND_LIST = list(_commands())


def _options(command: click.Command) -> list[click.Option]:
    return [
        p
        for p in command.params
        if isinstance(p, click.Option) and not p.hidden and p.name not in ("help", "version")
    ]


@pytest.mark.parametrize(("path", "command"), COMMAND_LIST, ids=[p for p, _ in COMMAND_LIST])
def test_every_option_is_described_with_its_default(path: str, command: click.Command) -> None:
    assert command.help or (command.callback and command.callback.__doc__), path
    for option in _options(command):
        name = option.opts[-1]
        assert option.help and len(option.help) >= 10, f"{path} {name}: no help"
        default = option.default
        unset = default in (None, (), False) or repr(default).endswith("UNSET")  # click 8.2+
        if option.is_flag or option.required or unset:
            continue
        said = option.show_default or "default" in option.help.lower()
        assert said, f"{path} {name}: the default ({default!r}) is not shown"


def test_every_command_has_a_table_entry() -> None:
    assert {p.split()[1] for p, _ in COMMAND_LIST} == set(COMMANDS)
