"""``cofre params render``: resolve a template's dynamic references through the SSM API.

Lookups are batched: the distinct references go to GetParameters ten at a time (the
operation's limit), ``name:version`` selectors included; ``ssm`` references are read without
decryption and ``ssm-secure`` ones with ``WithDecryption``, so a plain reference never
decrypts anything. Every problem (missing parameter or version, a denied read, the wrong
type) is collected and reported with the lines it comes from; no value is ever shown.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from cofre.core.params.parameters import MAX_GET_PARAMETERS, canonical_name
from cofre.core.params.template import DynamicReference, ParamKey
from cofre.errors import CofreError

SECURE_STRING = "SecureString"


class RenderError(Exception):
    """The template cannot be rendered; the message is for the user and holds no value."""


def _chunks(keys: Sequence[ParamKey], size: int) -> Iterator[Sequence[ParamKey]]:
    for at in range(0, len(keys), size):
        yield keys[at : at + size]


class Resolver:
    """Looks up the values of a template's references with one botocore ``ssm`` client."""

    def __init__(self, client: Any, refs: Iterable[DynamicReference]) -> None:
        self._client = client
        self._refs: dict[ParamKey, list[DynamicReference]] = defaultdict(list)
        for ref in refs:
            self._refs[ref.key].append(ref)
        self._values: dict[ParamKey, str] = {}
        self._problems: list[tuple[int, str]] = []  # (first line, message)

    def resolve(self) -> dict[ParamKey, str]:
        """Every reference's value, or RenderError listing what went wrong."""
        import botocore.exceptions

        for secure in (False, True):
            keys = [k for k in self._refs if k.secure is secure]
            try:
                for chunk in _chunks(keys, MAX_GET_PARAMETERS):
                    self._fetch(chunk, secure)
            except botocore.exceptions.BotoCoreError as exc:  # no credentials, unreachable...
                raise RenderError(f"cannot read parameters: {exc}") from exc
        if self._problems:
            count = len(self._problems)
            head = "1 reference" if count == 1 else f"{count} references"
            shown = "\n  ".join(message for _, message in sorted(self._problems))
            raise RenderError(f"{head} could not be resolved:\n  {shown}")
        return self._values

    def _where(self, key: ParamKey) -> str:
        refs = self._refs[key]
        lines = sorted({r.line for r in refs})
        shown = ", ".join(str(n) for n in lines[:5]) + (", ..." if len(lines) > 5 else "")
        return f"line {shown}" if len(lines) == 1 else f"lines {shown}"

    def _name(self, key: ParamKey) -> str:
        return self._refs[key][0].name

    def _problem(self, key: ParamKey, text: str) -> None:
        line = min(r.line for r in self._refs[key])
        self._problems.append((line, f"{self._where(key)}: {key.service} parameter {text}"))

    def _fetch(self, chunk: Sequence[ParamKey], secure: bool) -> None:
        from botocore.exceptions import ClientError

        try:
            response = self._client.get_parameters(
                Names=[k.selector for k in chunk], WithDecryption=secure
            )
        except ClientError as exc:
            if len(chunk) > 1:  # find which one: each on its own
                for key in chunk:
                    self._fetch([key], secure)
                return
            self._failed(chunk[0], exc.response.get("Error", {}))
            return
        wanted = {k.selector: k for k in chunk}
        for selector in response.get("InvalidParameters", []):
            if selector in wanted:
                self._missing(wanted.pop(selector))
        for parameter in response.get("Parameters", []):
            got = self._key_of(parameter, secure)
            if got is not None and wanted.pop(got.selector, None) is not None:
                self._found(got, parameter)
        for key in wanted.values():
            self._problem(key, f"{self._name(key)}: the server did not return it")

    @staticmethod
    def _key_of(parameter: dict[str, Any], secure: bool) -> ParamKey | None:
        try:
            name = canonical_name(str(parameter.get("Name", "")))
        except CofreError:
            return None
        selector = str(parameter.get("Selector") or "")
        digits = selector[1:]
        version = int(digits) if selector.startswith(":") and digits.isdigit() else None
        return ParamKey(name, version, secure)

    def _missing(self, key: ParamKey) -> None:
        name = self._name(key)
        if key.version is None:
            self._problem(key, f"{name} not found")
        else:
            self._problem(key, f"{name} version {key.version} not found")

    def _failed(self, key: ParamKey, error: dict[str, Any]) -> None:
        code = str(error.get("Code", "error"))
        message = str(error.get("Message", ""))
        if code == "AccessDeniedException":
            self._problem(key, f"{self._name(key)}: access denied: {message}")
        else:
            self._problem(key, f"{self._name(key)}: {code}: {message}")

    def _found(self, key: ParamKey, parameter: dict[str, Any]) -> None:
        type_ = str(parameter.get("Type", ""))
        name = self._name(key)
        if key.secure and type_ != SECURE_STRING:
            self._problem(
                key,
                f"{name} is a {type_}, not a SecureString: use {{{{resolve:ssm:{name}}}}}",
            )
        elif not key.secure and type_ == SECURE_STRING:
            self._problem(
                key,
                f"{name} is a SecureString: ssm references refuse it, use"
                f" {{{{resolve:ssm-secure:{name}}}}}",
            )
        else:
            self._values[key] = str(parameter["Value"])


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, mode 0600: a temporary file in the same
    folder (``mkstemp`` creates it 0600), flushed to disk, then renamed over ``path``."""
    directory = path.parent
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=directory)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    with contextlib.suppress(OSError):  # make the rename durable where the platform allows
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
