"""The web console over plain HTTP (httpx): sign in, read pages, post forms with the
page's CSRF token."""

from __future__ import annotations

import re
import ssl
from typing import Any

import httpx

from tests.support.server import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, CofreServer

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class ConsoleUser:
    """One browser's worth of console: its own cookies."""

    def __init__(self, server: CofreServer, **client: Any) -> None:
        verify: Any = True
        if server.tls_cafile is not None:
            verify = ssl.create_default_context(cafile=str(server.tls_cafile))
        self.server = server
        self.http = httpx.Client(base_url=server.url, verify=verify, timeout=30, **client)
        self.csrf = ""

    def close(self) -> None:
        self.http.close()

    def sign_in(
        self,
        access_key_id: str = ACCESS_KEY_ID,
        secret: str = SECRET_ACCESS_KEY,
        region: str = REGION,
        session_token: str = "",
    ) -> httpx.Response:
        form = {"access_key_id": access_key_id, "secret_access_key": secret,
                "region": region, "session_token": session_token}  # fmt: skip
        response = self.http.post("/console/signin", data=form)
        if response.status_code == 303:
            self.page("/console/keys")
        return response

    def page(self, where: str, /, **params: Any) -> httpx.Response:
        response = self.http.get(where, params=params or None)
        found = _CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    def post(
        self, path: str, data: dict[str, Any] | None = None, *, csrf: bool = True
    ) -> httpx.Response:
        form = dict(data or {})
        if csrf:
            form.setdefault("csrf", self.csrf)
        return self.http.post(path, data=form)

    def __enter__(self) -> ConsoleUser:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def key_id_of(location: str) -> str:
    """The key id in a redirect to a key's page."""
    found = re.search(r"/console/keys/([A-Za-z0-9-]+)", location)
    assert found, location
    return found.group(1)
