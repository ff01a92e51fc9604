"""Console sessions: who signed in, sealed into the session cookie (ADR 15).

A session is a small record -- session id, access key id, Region, CSRF token, when it
was issued and when it expires -- encrypted and authenticated with AES-256-GCM under a
key derived from the keyring key K (``cofre/console/session/v1``). Every worker and
node holding K reads every other's cookies: no session table, no sticky load balancing.
The secret access key is checked at sign-in and never stored in the cookie.

Sign-out must end a session everywhere, not only in the browser that signs out: it
writes the time of the sign-out in ``meta`` (``console/signed-out/<access key id>``),
and a session of that access key issued before that time is refused by every node.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson

from cofre.container import Services
from cofre.core.crypto import Cipher
from cofre.core.iam.principals import Caller, Credential
from cofre.errors import CofreError
from cofre.service.iam.roles import session_token_hash

COOKIE = "cofre_console"
COOKIE_PATH = "/console"
FORMAT = b"\x01"  # the cookie's format version, also its associated data's first byte
_LABEL = b"cofre/console/session/v1"
_AAD = FORMAT + b"cofre/console/session"
_IV_LEN = 12
_MAX_COOKIE = 2048
SIGNED_OUT = "console/signed-out/"  # + access key id: the time of its last sign-out (µs)
USER_AGENT = "cofre-console"


class SignInError(Exception):
    """The sign-in form's answer: one message whatever was wrong (no oracle)."""

    message = "The access key ID or secret access key is not valid."


@dataclass(frozen=True, slots=True)
class Session:
    session_id: str
    access_key_id: str
    region: str
    csrf: str
    issued_us: int  # microseconds since the epoch (the service clock's)
    expires_us: int

    def encode(self) -> bytes:
        return orjson.dumps(
            [self.session_id, self.access_key_id, self.region, self.csrf,
             self.issued_us, self.expires_us]
        )  # fmt: skip

    @classmethod
    def decode(cls, data: bytes) -> Session:
        sid, akid, region, csrf, issued, expires = orjson.loads(data)
        return cls(str(sid), str(akid), str(region), str(csrf), int(issued), int(expires))

    def csrf_matches(self, token: str) -> bool:
        return hmac.compare_digest(self.csrf.encode(), token.encode())


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A valid session and the principal it acts as."""

    session: Session
    credential: Credential


def _micros(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


class Sessions:
    def __init__(self, services: Services) -> None:
        self._services = services
        self._lifetime = timedelta(seconds=services.settings.console_session_seconds)

    def _cipher(self) -> Cipher:
        return Cipher(self._services.keyring.derive(_LABEL))

    # sign-in ----------------------------------------------------------------------------------
    def sign_in(
        self, access_key_id: str, secret: str, session_token: str, region: str
    ) -> tuple[SignedIn, str]:
        """Check an access key pair (and session token, for temporary credentials); a new
        session and its cookie value. Any mismatch is :class:`SignInError`."""
        entry = self._services.cache.credential(access_key_id.strip()[:128])
        if entry is None or not hmac.compare_digest(entry.secret.encode(), secret.encode()):
            raise SignInError()
        credential = entry.credential
        now = self._services.clock.now()
        expires = now + self._lifetime
        if credential.session_token_hash is not None:
            if not session_token or not hmac.compare_digest(
                session_token_hash(session_token), credential.session_token_hash
            ):
                raise SignInError()
            if credential.expires_at is not None:
                if credential.expires_at <= now:
                    raise SignInError()
                expires = min(expires, credential.expires_at)
        elif session_token:
            raise SignInError()
        session = Session(
            session_id=secrets.token_hex(16),
            access_key_id=credential.access_key_id,
            region=region,
            csrf=secrets.token_urlsafe(32),
            issued_us=_micros(now),
            expires_us=_micros(expires),
        )
        return SignedIn(session, credential), self.seal(session)

    def seal(self, session: Session) -> str:
        iv = os.urandom(_IV_LEN)
        sealed = self._cipher().seal(iv, session.encode(), _AAD)
        return base64.urlsafe_b64encode(FORMAT + iv + sealed).decode().rstrip("=")

    # each request ------------------------------------------------------------------------------
    def open(self, cookie: str) -> SignedIn | None:
        """The session a cookie holds if it is genuine, unexpired, not signed out and its
        access key is still active; else None."""
        if not cookie or len(cookie) > _MAX_COOKIE:
            return None
        try:
            raw = base64.urlsafe_b64decode(cookie + "=" * (-len(cookie) % 4))
            if raw[:1] != FORMAT or len(raw) < 1 + _IV_LEN + 16:
                return None
            data = self._cipher().open(raw[1 : 1 + _IV_LEN], raw[1 + _IV_LEN :], _AAD)
            session = Session.decode(data)
        except (CofreError, ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
            return None
        now = self._services.clock.now()
        if session.expires_us <= _micros(now):
            return None
        entry = self._services.cache.credential(session.access_key_id)
        if entry is None:
            return None
        credential = entry.credential
        if credential.expires_at is not None and credential.expires_at <= now:
            return None
        with self._services.storage.read() as tx:
            ended = tx.get_meta(SIGNED_OUT + session.access_key_id)
        if ended is not None and int(ended) >= session.issued_us:
            return None
        return SignedIn(session, credential)

    def sign_out(self, session: Session) -> None:
        """End every console session of this access key issued until now."""
        now = max(_micros(self._services.clock.now()), session.issued_us)
        with self._services.storage.write() as tx:
            tx.set_meta(SIGNED_OUT + session.access_key_id, str(now))

    def lifetime_left(self, session: Session) -> int:
        """Seconds until the session expires (the cookie's Max-Age)."""
        left = session.expires_us - _micros(self._services.clock.now())
        return max(0, left // 1_000_000)


def caller_of(signed_in: SignedIn, source_ip: str, secure: bool) -> Caller:
    """The principal a session acts as, as the pipeline's authentication would build it."""
    credential = signed_in.credential
    return Caller(
        account_id=credential.account_id,
        principal_arn=credential.principal_arn,
        access_key_id=credential.access_key_id,
        region=signed_in.session.region,
        source_ip=source_ip,
        user_agent=USER_AGENT,
        secure_transport=secure,
        user_name=credential.user_name,
        principal_id=credential.principal_id,
        role_arn=credential.role_arn,
    )
