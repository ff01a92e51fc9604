"""Who sent a request: SigV4 verification, then the credential's checks (session tokens,
expiry, the Regions served), giving the :class:`Caller` the rest of the pipeline uses.

What a failed attempt claimed (access key, Region, service) is noted on the
:class:`Attempt`, so that its audit record says who tried.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime

from cofre.api.http.exchange import Incoming, raw_header
from cofre.api.pipeline.attempt import Attempt, claimed_scope
from cofre.api.sigv4.verify import HttpRequest, SigV4Verifier
from cofre.container import Services
from cofre.core.iam.principals import Caller, Credential
from cofre.core.ids import is_region
from cofre.errors import (
    CofreError,
    ExpiredTokenError,
    InvalidSignatureError,
    UnrecognizedClientError,
)
from cofre.service.cache.keycache import CachedCredential
from cofre.service.iam.roles import session_token_hash

SIGNING_SERVICES = frozenset({"kms", "ssm", "iam", "sts", "cofre", "cloudtrail"})
QUERY_SIGNING = frozenset({"iam", "sts"})  # the services a request without a target is for


class _Secrets:
    """Secret lookup for the verifier; remembers the entry so the caller is built from it.

    Authentication runs on the event loop thread only, so ``last`` is not shared.
    """

    def __init__(self, services: Services) -> None:
        self._services = services
        self.last: CachedCredential | None = None

    def secret_for(self, access_key_id: str) -> str | None:
        self.last = entry = self._services.cache.credential(access_key_id)
        return None if entry is None else entry.secret


class _Callers:
    """One :class:`Caller` per credential and origin, reused by the requests that share
    them (a caller is immutable; building one per request cost more than finding it, and
    the audit records of calls with one caller are built from one template)."""

    def __init__(self, limit: int = 4096) -> None:
        # by the credential's identity (the key cache hands out one object per credential
        # until it changes; the entry holds it, so its id is not reused meanwhile)
        self._known: dict[tuple[object, ...], tuple[Credential, Caller]] = {}
        self._limit = limit

    def get(
        self, credential: Credential, region: str, source_ip: str, user_agent: str, secure: bool
    ) -> Caller:
        key = (id(credential), region, source_ip, user_agent, secure)
        known = self._known.get(key)
        if known is not None and known[0] is credential:
            return known[1]
        caller = Caller(
            account_id=credential.account_id,
            principal_arn=credential.principal_arn,
            access_key_id=credential.access_key_id,
            region=region,
            source_ip=source_ip,
            user_agent=user_agent,
            secure_transport=secure,
            user_name=credential.user_name,
            principal_id=credential.principal_id,
            role_arn=credential.role_arn,
        )
        if len(self._known) >= self._limit:
            self._known.clear()
        self._known[key] = (credential, caller)
        return caller


class Authenticator:
    def __init__(
        self, services: Services, regions: frozenset[str], json_services: frozenset[str]
    ) -> None:
        self.services = services
        self._regions = regions
        self._signing_names = json_services
        self._secrets = _Secrets(services)
        self._verifier = SigV4Verifier(self._secrets)
        self._callers = _Callers()

    def authenticate(self, request: Incoming, attempt: Attempt) -> Caller:
        assert request.body is not None
        try:
            return self._authenticate(request, attempt)
        except CofreError:
            self._note_claims(request, attempt)
            raise

    def _note_claims(self, request: Incoming, attempt: Attempt) -> None:
        """What a request that failed authentication claimed to be (for its record)."""
        claimed = claimed_scope(raw_header(request, b"authorization"))
        attempt.access_key_id, attempt.region = claimed.access_key_id, claimed.region
        if not attempt.service:
            attempt.service = claimed.service if claimed.service in QUERY_SIGNING else ""
        if claimed.access_key_id:
            known = self.services.cache.credential(claimed.access_key_id)
            attempt.account_id = None if known is None else known.credential.account_id
        attempt.caller = None

    def _authenticate(self, request: Incoming, attempt: Attempt) -> Caller:
        assert request.body is not None
        now = datetime.now(UTC)
        signed = self._verifier.verify(
            HttpRequest(
                method=request.method,
                path=request.path.decode("utf-8", "surrogateescape") or "/",
                query_string=request.query,
                headers=request.headers,
                body=request.body,
                header_map=request.header_map,
            ),
            now,
        )
        if signed.service not in SIGNING_SERVICES:
            raise InvalidSignatureError(
                f"Credential should be scoped to a service Cofre serves, not"
                f" '{signed.service[:40]}'."
            )
        regional = signed.service in ("kms", "ssm")
        if not is_region(signed.region) or (
            regional and self._regions and signed.region not in self._regions
        ):
            raise UnrecognizedClientError(
                f"The region '{signed.region[:40]}' is not served by this endpoint."
            )
        entry = self._secrets.last
        if entry is None or entry.credential.access_key_id != signed.access_key_id:
            entry = self.services.cache.credential(signed.access_key_id)
        if entry is None:
            raise UnrecognizedClientError()
        credential = entry.credential
        if credential.session_token_hash is not None:
            token = signed.session_token
            if token is None or not hmac.compare_digest(
                session_token_hash(token), credential.session_token_hash
            ):
                raise UnrecognizedClientError()
            if (
                credential.expires_at is not None
                and credential.expires_at <= self.services.clock.now()
            ):
                raise ExpiredTokenError()
        elif signed.session_token is not None:
            raise UnrecognizedClientError()
        attempt.signed_service = signed.service
        attempt.region = signed.region
        if attempt.service != "cofre" and attempt.service not in self._signing_names:
            attempt.service = signed.service  # Query requests: the scope tells the service
        if credential.role_arn is not None:
            attempt.session_created_at = credential.created_at
        attempt.caller = caller = self._callers.get(
            credential, signed.region, request.client_ip, attempt.user_agent, request.secure
        )
        return caller
