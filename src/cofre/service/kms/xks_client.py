"""Calls to an XKS proxy, for the custom key stores of Cofre's KMS (ADR 22).

Requests are signed with SigV4 for the service ``kms-xks-proxy`` in the store's Region
(botocore's signer, as AWS KMS signs them), sent over HTTP/1.1 on a connection kept per
thread and endpoint, and bounded by a timeout. Every failure -- no connection, a TLS
handshake that fails, no answer in time, an error answer, an answer that is not what the
specification describes -- is a :class:`ProxyCallError` whose ``reason`` is the
specification's ``errorName`` or one of ``unreachable``, ``tls``, ``timeout``,
``malformed``; the use cases turn it into the AWS error of their operation.
"""

from __future__ import annotations

import http.client
import json
import ssl
import threading
from collections.abc import Mapping
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from cofre.core.kms.custom_stores import CustomKeyStore, host_of

SERVICE = "kms-xks-proxy"
_MAX_ANSWER = 64 * 1024


class ProxyCallError(Exception):
    """An XKS call that did not succeed; ``reason`` says how (module docstring)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class XksClient:
    def __init__(self, timeout: float, ca_bundle: str | None) -> None:
        self._timeout = timeout
        self._ca_bundle = ca_bundle
        self._local = threading.local()
        self._tls: ssl.SSLContext | None = None

    def _context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = ssl.create_default_context(cafile=self._ca_bundle)
        return self._tls

    def _connection(self, endpoint: str) -> http.client.HTTPConnection:
        pool: dict[str, http.client.HTTPConnection] = self._local.__dict__.setdefault("pool", {})
        known = pool.get(endpoint)
        if known is not None:
            return known
        host, port, tls = host_of(endpoint)
        connection: http.client.HTTPConnection
        if tls:
            connection = http.client.HTTPSConnection(
                host, port, timeout=self._timeout, context=self._context()
            )
        else:
            connection = http.client.HTTPConnection(host, port, timeout=self._timeout)
        pool[endpoint] = connection
        return connection

    def _drop(self, endpoint: str) -> None:
        pool: dict[str, http.client.HTTPConnection] = self._local.__dict__.get("pool", {})
        connection = pool.pop(endpoint, None)
        if connection is not None:
            connection.close()

    def call(
        self, store: CustomKeyStore, secret: str, suffix: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """POST ``body`` to ``<endpoint><path>/<suffix>``; the decoded answer."""
        data = json.dumps(body).encode()
        url = store.url + "/" + suffix
        request = AWSRequest(
            method="POST", url=url, data=data, headers={"Content-Type": "application/json"}
        )
        SigV4Auth(Credentials(store.access_key_id, secret), SERVICE, store.region).add_auth(request)
        headers = dict(request.headers.items())
        path = store.uri_path + "/" + suffix
        for attempt in (1, 2):  # a kept connection the proxy closed: once more, anew
            connection = self._connection(store.uri_endpoint)
            try:
                connection.request("POST", path, body=data, headers=headers)
                response = connection.getresponse()
                status, answer = response.status, response.read(_MAX_ANSWER + 1)
                break
            except TimeoutError as exc:
                self._drop(store.uri_endpoint)
                raise ProxyCallError("timeout") from exc
            except ssl.SSLError as exc:
                self._drop(store.uri_endpoint)
                raise ProxyCallError("tls") from exc
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self._drop(store.uri_endpoint)
                if attempt == 2:
                    raise ProxyCallError("unreachable") from exc
            except (OSError, http.client.HTTPException) as exc:
                self._drop(store.uri_endpoint)
                raise ProxyCallError("unreachable") from exc
        if len(answer) > _MAX_ANSWER:
            raise ProxyCallError("malformed")
        try:
            decoded = json.loads(answer)
        except ValueError as exc:
            raise ProxyCallError("malformed") from exc
        if not isinstance(decoded, dict):
            raise ProxyCallError("malformed")
        if status != 200:
            name = decoded.get("errorName")
            raise ProxyCallError(name if isinstance(name, str) and name else "malformed")
        return decoded
