"""The seal across the processes of one node (``cofre serve --workers N``): the supervisor
keeps the seal (one keeper per node) and each worker reaches it over a pipe of its own.

* worker -> supervisor: ``{"id": n, "call": "status" | "submit_share" | "seal" |
  "rotate_root", "arg": text}``; the answer comes back with the same id, as the status
  or an error (kind and message);
* supervisor -> worker: ``{"keyring": bytes | None}`` whenever the node is unsealed or
  sealed, and once when the worker connects: the worker loads the keyring key, or drops
  it (and every key it unwrapped).

The keyring key travels over the pipe (an in-kernel buffer between two processes of the
same user), never through the environment or the command line.
"""

from __future__ import annotations

import itertools
import logging
import threading
from multiprocessing.connection import Connection
from typing import Any

from cofre.errors import CofreError, SealedError, SealError
from cofre.service.seal.keeper import SealKeeper, SealStatus
from cofre.service.seal.keyring import Keyring

log = logging.getLogger("cofre.server")

_ERRORS: dict[str, type[CofreError]] = {"SealError": SealError, "SealedError": SealedError}
_TIMEOUT = 120.0  # an HSM or another KMS may be slow to answer a rotation


class SupervisorLinks:
    """The supervisor's side: answers its workers' seal calls with the node's keeper and
    pushes the keyring key to every worker when the node is unsealed or sealed."""

    def __init__(self, keeper: SealKeeper, keyring: Keyring) -> None:
        self._keeper = keeper
        self._keyring = keyring
        self._links: list[tuple[Connection, threading.Lock]] = []
        self._lock = threading.Lock()

    def add(self, connection: Connection) -> None:
        """Serve a new worker's pipe; send it the keyring as it is now."""
        sending = threading.Lock()
        with self._lock:
            self._links.append((connection, sending))
        self._push(connection, sending)
        threading.Thread(
            target=self._serve, args=(connection, sending), name="cofre-seal-link", daemon=True
        ).start()

    def broadcast(self) -> None:
        with self._lock:
            links = list(self._links)
        for connection, sending in links:
            self._push(connection, sending)

    def _push(self, connection: Connection, sending: threading.Lock) -> None:
        key = None if self._keyring.sealed else self._keyring.key()
        try:
            with sending:
                connection.send({"keyring": key})
        except (OSError, ValueError):
            self._forget(connection)

    def _forget(self, connection: Connection) -> None:
        with self._lock:
            self._links = [(c, s) for c, s in self._links if c is not connection]

    def _serve(self, connection: Connection, sending: threading.Lock) -> None:
        while True:
            try:
                message: dict[str, Any] = connection.recv()
            except (EOFError, OSError):
                self._forget(connection)
                return
            reply = {"id": message.get("id")} | self._call(message)
            try:
                with sending:
                    connection.send(reply)
            except (OSError, ValueError):
                self._forget(connection)
                return

    def _call(self, message: dict[str, Any]) -> dict[str, Any]:
        call, arg = message.get("call"), message.get("arg", "")
        try:
            if call == "status":
                status = self._keeper.status()
            elif call == "submit_share":
                status = self._keeper.submit_share(str(arg))
            elif call == "seal":
                status = self._keeper.seal()
            elif call == "rotate_root":
                status = self._keeper.rotate_root()
            else:
                return {"error": ("SealError", f"unknown seal call {call!r}")}
        except CofreError as error:
            return {"error": (type(error).__name__, error.message)}
        return {"status": status.document()}


class WorkerLink:
    """A worker's side (a ``SealControl``): its seal calls go to the supervisor, and the
    keyring key the supervisor pushes is loaded into (or dropped from) this process."""

    def __init__(self, connection: Connection, keyring: Keyring) -> None:
        self._connection = connection
        self._keyring = keyring
        self._ids = itertools.count(1)
        self._sending = threading.Lock()
        self._waiting: dict[int, tuple[threading.Event, list[dict[str, Any]]]] = {}
        self._first = threading.Event()
        threading.Thread(target=self._read, name="cofre-seal-link", daemon=True).start()

    def wait_for_keyring(self, timeout: float = 30.0) -> None:
        """Wait for the supervisor's first word on the keyring (sealed or not)."""
        self._first.wait(timeout)

    def _read(self) -> None:
        while True:
            try:
                message: dict[str, Any] = self._connection.recv()
            except (EOFError, OSError):
                log.error("the link to the supervisor is gone: sealing this worker")
                self._keyring.drop()
                return
            if "keyring" in message:
                key = message["keyring"]
                if key is None:
                    if not self._keyring.sealed:
                        self._keyring.drop()
                else:
                    self._keyring.load(key)
                self._first.set()
                continue
            waiting = self._waiting.pop(message.get("id", 0), None)
            if waiting is not None:
                waiting[1].append(message)
                waiting[0].set()

    def _ask(self, call: str, arg: str = "") -> SealStatus:
        number = next(self._ids)
        done = threading.Event()
        answer: list[dict[str, Any]] = []
        self._waiting[number] = (done, answer)
        with self._sending:
            self._connection.send({"id": number, "call": call, "arg": arg})
        if not done.wait(_TIMEOUT) or not answer:
            self._waiting.pop(number, None)
            raise SealError("the node's supervisor did not answer")
        reply = answer[0]
        if "error" in reply:
            kind, message = reply["error"]
            raise _ERRORS.get(kind, SealError)(message)
        return SealStatus.from_document(reply["status"])

    def status(self) -> SealStatus:
        return self._ask("status")

    def submit_share(self, text: str) -> SealStatus:
        return self._ask("submit_share", text)

    def seal(self) -> SealStatus:
        return self._ask("seal")

    def rotate_root(self) -> SealStatus:
        return self._ask("rotate_root")
