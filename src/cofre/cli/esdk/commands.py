"""``cofre encrypt`` / ``cofre decrypt``: files, directories and pipes in the AWS
Encryption SDK message format, with options named as in the official aws-encryption-cli.

Thin: parse options, build a keyring (``esdk_keys``), plan the files (``esdk_files``),
call ``cofre.esdk``. Exit status 0 when every file succeeded, 1 when any failed (one line
on stderr per failure, no traceback), 2 for a usage error.

Unlike the official CLI, an existing output file is never replaced unless ``--overwrite``
is given; ``--no-overwrite`` (skip it) and ``--interactive`` (ask) behave as there.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO

import click

from cofre import esdk
from cofre.cli.esdk.files import (
    STDIO,
    Job,
    Metadata,
    OutputExistsError,
    Progress,
    atomic_output,
    header_json,
    official_name,
    open_source,
    plan,
)
from cofre.cli.esdk.keys import (
    SEPARATOR,
    KeySpecError,
    KmsClients,
    RequireContextKeys,
    build_keyring,
    parse_words,
)

_GREEDY = {"-w", "--wrapping-keys", "-c", "--encryption-context", "--caching"}
_POLICIES = {p.value.lower().replace("_", "-"): p for p in esdk.CommitmentPolicy}
_SUITES = {
    **{official_name(s).lower(): s for s in esdk.AlgorithmSuite},
    **{s.name.lower(): s for s in esdk.AlgorithmSuite},
    **{f"0x{s.suite_id:04x}": s for s in esdk.AlgorithmSuite},
}
_CACHING = {"capacity": int, "max_age": float, "max_messages_encrypted": int,
            "max_bytes_encrypted": int}  # fmt: skip


def group_greedy(args: list[str]) -> list[str]:
    """``-w key=a region=b -c x=1`` -> ``-w 'key=a<NUL>region=b' -c x=1``: like the official
    CLI's argparse ``nargs='+'``, these options take every following word up to the next
    option."""
    out: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            out += args[i:]
            break
        name, eq, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        i += 1
        if name not in _GREEDY:
            out.append(arg)
            continue
        words = [value] if eq else []
        while i < len(args) and not args[i].startswith("-"):
            words.append(args[i])
            i += 1
        out += [name, SEPARATOR.join(words)] if words else [name]
    return out


class _GreedyCommand(click.Command):
    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, group_greedy(args))


def _common(command: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("-i", "--input", "input_", required=True,
                     help="Input file or directory, or '-' for stdin."),
        click.option("-o", "--output", required=True,
                     help="Output file or directory, or '-' for stdout."),
        click.option("-w", "--wrapping-keys", multiple=True, required=True,
                     help="Wrapping key: key=ARN|alias [region=..] [profile=..] (AWS KMS; on "
                     "decrypt also discovery=true), or provider=raw-aes|raw-rsa key-file=FILE "
                     "key-namespace=.. key-name=.. (repeatable; encrypt uses every one)."),
        click.option("-c", "--encryption-context", multiple=True,
                     help="key=value pairs bound to the message (default: none); on decrypt "
                     "they must match, and a bare key must be present."),
        click.option("--metadata-output", help="File to append one JSON line per file to "
                     "(header, paths), or '-' for stdout; this or -S is required."),
        click.option("-S", "--suppress-metadata", is_flag=True,
                     help="Write no metadata (instead of --metadata-output)."),
        click.option("--overwrite-metadata", is_flag=True,
                     help="Truncate the metadata file first (default: append)."),
        click.option("--commitment-policy", type=click.Choice(sorted(_POLICIES)),
                     default="require-encrypt-require-decrypt", show_default=True,
                     help="Key commitment: require-encrypt-require-decrypt writes and reads "
                     "committing messages only; *-allow-decrypt also reads older ones; "
                     "forbid-encrypt-* writes uncommitted ones (for SDKs before 2.0)."),
        click.option("--max-encrypted-data-keys", type=click.IntRange(min=1),
                     help="Fail on a message with more encrypted data keys than this "
                     "(default: no limit)."),
        click.option("--caching", help="capacity=N max_age=SECONDS [max_messages_encrypted=N] "
                     "[max_bytes_encrypted=BYTES]: reuse data keys from a local cache of N "
                     "entries (default: no caching)."),
        click.option("--endpoint-url", envvar=["AWS_ENDPOINT_URL_KMS", "AWS_ENDPOINT_URL"],
                     help="KMS endpoint (default: AWS_ENDPOINT_URL_KMS, AWS_ENDPOINT_URL)."),
        click.option("-r", "-R", "--recursive", is_flag=True,
                     help="Process every file under an input directory."),
        click.option("--suffix", is_flag=False, flag_value="", default=None,
                     help="Suffix of output files named after the input (default: .encrypted "
                     "or .decrypted; --suffix alone: none)."),
        click.option("--overwrite", is_flag=True, help="Replace existing output files."),
        click.option("--no-overwrite", is_flag=True, help="Skip existing output files."),
        click.option("--interactive", is_flag=True, help="Ask before replacing output files."),
    ]  # fmt: skip
    for option in reversed(options):
        command = option(command)
    return command


@dataclass(frozen=True)
class _Settings:
    mode: str
    cmm: esdk.CryptoMaterialsManager
    context: dict[str, str]
    policy: esdk.CommitmentPolicy
    max_edks: int | None
    replace: str  # "refuse", "overwrite", "skip" or "ask"
    algorithm: esdk.AlgorithmSuite | None = None
    frame_length: int = esdk.DEFAULT_FRAME_LENGTH


@click.command(cls=_GreedyCommand)
@_common
@click.option(
    "--algorithm",
    help="Algorithm suite: official name or id such as 0x0478 "
    "(default: 0x0578, committing, signed with ECDSA P-384).",
)
@click.option("--frame-length", type=click.IntRange(0, 2**31 - 1), default=4096,
              show_default=True, help="Plaintext bytes per frame; 0 for a non-framed "
              "message.")  # fmt: skip
def encrypt(algorithm: str | None, frame_length: int, **options: Any) -> None:
    """Encrypt files, directories or stdin into AWS Encryption SDK messages."""
    suite = None
    if algorithm is not None:
        suite = _SUITES.get(algorithm.lower())
        if suite is None:
            raise click.BadParameter(
                f"unknown algorithm suite {algorithm!r}", param_hint="--algorithm"
            )
    _main("encrypt", options, algorithm=suite, frame_length=frame_length)


@click.command(cls=_GreedyCommand)
@_common
def decrypt(**options: Any) -> None:
    """Decrypt AWS Encryption SDK messages from files, directories or stdin."""
    _main("decrypt", options)


def _main(mode: str, o: dict[str, Any], **extra: Any) -> None:
    if bool(o["metadata_output"]) == bool(o["suppress_metadata"]):
        raise click.UsageError("give exactly one of --metadata-output and --suppress-metadata")
    if o["metadata_output"] == STDIO and o["output"] == STDIO:
        raise click.UsageError("--metadata-output - and --output - would mix on stdout")
    flags = [f for f in ("overwrite", "no_overwrite", "interactive") if o[f]]
    if len(flags) > 1:
        raise click.UsageError("give at most one of --overwrite, --no-overwrite, --interactive")
    if o["interactive"] and o["input_"] == STDIO:
        raise click.UsageError("--interactive cannot ask while reading the input from stdin")
    replace = {"overwrite": "overwrite", "no_overwrite": "skip", "interactive": "ask"}
    suffix = o["suffix"] if o["suffix"] is not None else f".{mode}ed"
    jobs = plan(o["input_"], o["output"], recursive=o["recursive"], suffix=suffix)
    try:
        settings = _settings(mode, o, replace[flags[0]] if flags else "refuse", extra)
    except KeySpecError as exc:
        raise click.UsageError(str(exc)) from exc
    try:
        metadata = Metadata(o["metadata_output"], o["overwrite_metadata"])
    except OSError as exc:
        raise click.UsageError(f"--metadata-output: {_describe(exc)}") from exc
    failures = 0
    try:
        for job in jobs:
            failures += not _run(job, settings, metadata)
    finally:
        metadata.close()
    if failures:
        sys.exit(1)


def _settings(mode: str, o: dict[str, Any], replace: str, extra: dict[str, Any]) -> _Settings:
    decrypting = mode == "decrypt"
    clients = KmsClients(o["endpoint_url"])
    keyring = build_keyring(o["wrapping_keys"], decrypt=decrypting, clients=clients)
    context: dict[str, str] = {}
    required: list[str] = []
    for value in o["encryption_context"]:
        for word in value.split(SEPARATOR):
            key, eq, val = word.partition("=")
            if eq and key:
                context[key] = val
            elif decrypting and key and not eq:
                required.append(key)
            else:
                raise KeySpecError(f"--encryption-context: {word!r} is not key=value")
    cmm: esdk.CryptoMaterialsManager = esdk.DefaultCmm(keyring)
    if o["caching"]:
        cmm = _caching(cmm, o["caching"])
    if required:
        cmm = RequireContextKeys(cmm, required)
    policy = _POLICIES[o["commitment_policy"]]
    return _Settings(mode, cmm, context, policy, o["max_encrypted_data_keys"], replace, **extra)


def _caching(cmm: esdk.CryptoMaterialsManager, spec: str) -> esdk.CachingCmm:
    words = parse_words(spec, "--caching")
    if set(words) - set(_CACHING) or not {"capacity", "max_age"} <= set(words):
        raise KeySpecError("--caching: give capacity= and max_age= (and optionally "
                           "max_messages_encrypted=, max_bytes_encrypted=)")  # fmt: skip
    try:
        values = {k: _CACHING[k](v[-1]) for k, v in words.items()}
        cache = esdk.LocalCache(int(values.pop("capacity")))
        return esdk.CachingCmm(materials_manager=cmm, cache=cache, **values)
    except (ValueError, esdk.ConfigurationError) as exc:
        raise KeySpecError(f"--caching: {exc}") from exc


def _run(job: Job, s: _Settings, metadata: Metadata) -> bool:
    """Process one job; report a failure on stderr and return False."""
    name = "<stdin>" if job.source == STDIO else job.source
    try:
        if job.target != STDIO and job.source != STDIO and _same_file(job.source, job.target):
            raise OutputExistsError("input and output are the same file")
        overwrite = _may_replace(job.target, s.replace)
        if overwrite is None:
            click.echo(f"cofre {s.mode}: skipping {job.target}: it exists", err=True)
            return True
        header = _process(job, s, overwrite)
    except (esdk.EsdkError, OSError, OutputExistsError) as exc:
        message = _describe(exc)
        if isinstance(exc, esdk.DecryptError) and s.context and "authentication" in message:
            # pairs the message does not store are authenticated: a wrong one fails here
            message += " (wrong key, tampered message, or -c pairs the message does not hold)"
        click.echo(f"cofre {s.mode}: {name}: {message}", err=True)
        return False
    metadata.write({
        "mode": s.mode,
        "input": "<stdin>" if job.source == STDIO else os.path.abspath(job.source),
        "output": "<stdout>" if job.target == STDIO else os.path.abspath(job.target),
        "header": header_json(header),
    })  # fmt: skip
    return True


def _process(job: Job, s: _Settings, overwrite: bool) -> esdk.MessageHeader:
    with open_source(job) as (stream, length):
        progress = Progress(stream, length, f"{s.mode}ing {os.path.basename(job.source)}")
        source: BinaryIO = progress  # type: ignore[assignment]
        try:
            if job.target == STDIO:
                header = _message(source, sys.stdout.buffer, length, s, to_stdout=True)
                sys.stdout.buffer.flush()
                return header
            private = s.mode == "decrypt"
            expected = length and length + length // max(s.frame_length, 1024) * 32 + 4096
            with atomic_output(
                job.target, overwrite=overwrite, private=private, expected=expected
            ) as out:
                return _message(source, out, length, s, to_stdout=False)
        finally:
            progress.close()


def _message(
    source: BinaryIO, sink: BinaryIO, length: int | None, s: _Settings, *, to_stdout: bool
) -> esdk.MessageHeader:
    if s.mode == "encrypt":
        return esdk.encrypt_stream(
            source, sink, materials_manager=s.cmm, encryption_context=s.context,
            algorithm=s.algorithm, frame_length=s.frame_length, commitment_policy=s.policy,
            max_encrypted_data_keys=s.max_edks, plaintext_length=length,
        )  # fmt: skip
    # stdout cannot be taken back: release nothing there before the whole message verified;
    # a file is written under a temporary name, renamed only on success (atomic_output),
    # so its plaintext needs no second copy held back
    return esdk.decrypt_stream(
        source, sink, materials_manager=s.cmm, encryption_context=s.context or None,
        commitment_policy=s.policy, max_encrypted_data_keys=s.max_edks,
        buffer_unsigned=to_stdout, discard_on_error=not to_stdout, require_end=True,
    )  # fmt: skip


def _may_replace(target: str, policy: str) -> bool | None:
    """Whether to replace ``target``: False when it does not exist; None to skip it."""
    if target == STDIO or not os.path.lexists(target):
        return False
    if policy == "overwrite":
        return True
    if policy == "skip":
        return None
    if policy == "ask":
        return True if click.confirm(f"Overwrite {target}?", err=True) else None
    raise OutputExistsError(f"{target} exists (use --overwrite)")


def _same_file(source: str, target: str) -> bool:
    return os.path.exists(target) and os.path.samefile(source, target)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    message = str(exc) or type(exc).__name__
    cause = exc.__cause__
    if isinstance(exc, esdk.EncryptError) and cause is not None and str(cause):
        message += f" ({str(cause).splitlines()[0]})"
    return message
