"""The console on both storage backends: a session, a change, sign-out honoured."""

from __future__ import annotations

import httpx

from tests.support.console import ConsoleUser, key_id_of
from tests.support.server import CofreServer


def test_session_change_and_sign_out(server: CofreServer) -> None:
    with ConsoleUser(server) as console:
        assert console.sign_in().status_code == 303
        created = console.post("/console/keys", {"kind": "SYMMETRIC_DEFAULT|ENCRYPT_DECRYPT"})
        key_id = key_id_of(created.headers["location"])
        assert console.post(f"/console/keys/{key_id}/disable").status_code == 303
        kms = server.client("kms")
        assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Disabled"
        cookie = console.http.cookies.get("cofre_console") or ""
        assert console.post("/console/signout").status_code == 303
    with httpx.Client(base_url=server.url, cookies={"cofre_console": cookie}) as replay:
        assert replay.get("/console/keys").status_code == 303
