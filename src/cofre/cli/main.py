"""The ``cofre`` command line: thin, it parses arguments and calls the service layer.

Every subcommand lives in a module of its own, imported only when that subcommand runs,
so ``cofre --version``, ``cofre --help`` and a small ``cofre encrypt`` do not pay for the
server stack. Add a command with one line in ``COMMANDS``.
"""

from __future__ import annotations

import importlib

import click

# name: ("module:attribute", one-line help shown by ``cofre --help``)
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("cofre.cli.serve:serve", "Initialise the data directory if empty, then serve."),
    "encrypt": ("cofre.cli.esdk.commands:encrypt", "Encrypt files (AWS Encryption SDK format)."),
    "decrypt": ("cofre.cli.esdk.commands:decrypt", "Decrypt files (AWS Encryption SDK format)."),
    "accounts": ("cofre.cli.accounts:accounts", "Create and list accounts (bootstrap admin)."),
    "quotas": ("cofre.cli.quotas:quotas", "List and set request quotas (bootstrap admin)."),
    "audit": ("cofre.cli.audit:audit", "Verify and export the audit trail."),
    "params": ("cofre.cli.params.commands:params", "Parameter Store tools: templates, webhooks."),
    "operator": ("cofre.cli.operator:operator", "Root of trust: init, unseal, seal, rotate."),
    "backup": ("cofre.cli.backup:backup", "Write or verify a backup."),
    "restore": ("cofre.cli.backup:restore", "Rebuild a store from a backup."),
    "usage": ("cofre.cli.usage:usage", "Usage and cost reports."),
    "xks": ("cofre.cli.xks:xks", "External key stores: Cofre as an AWS KMS XKS proxy."),
}


class _Lazy(click.Command):
    """A subcommand whose module is imported only when it runs; its own parser (help,
    errors, exit status) takes every argument after its name."""

    def __init__(self, name: str, target: str, help_text: str) -> None:
        passed = {"ignore_unknown_options": True, "allow_extra_args": True}
        super().__init__(name, help=help_text, context_settings=passed, add_help_option=False)
        self._target = target

    def load(self) -> click.Command:
        module, attribute = self._target.split(":")
        command: click.Command = getattr(importlib.import_module(module), attribute)
        return command

    def invoke(self, ctx: click.Context) -> None:
        # standalone: the command ends the process with its own exit status
        self.load().main(ctx.args, prog_name=ctx.command_path, standalone_mode=True)


@click.group()
@click.version_option(package_name="cofre")
def main() -> None:
    """Cofre: a self-hosted key management service with the AWS KMS API."""


for _name, (_target, _help) in COMMANDS.items():
    main.add_command(_Lazy(_name, _target, _help))

if __name__ == "__main__":
    main()
