"""The web console over HTTP against a real ``cofre serve``: sign-in, the session
cookie's flags, CSRF, the Content-Security-Policy, expiry and sign-out, the keys pages,
denials, and that every action is an API call in the audit trail (ADR 15)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.test_tls import make_self_signed
from tests.support.console import ConsoleUser, key_id_of
from tests.support.iam import allow, document, make_user, unique
from tests.support.server import ACCESS_KEY_ID, CLOCK_ENV, CofreServer


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CofreServer]:
    tmp = tmp_path_factory.mktemp("cofre-console")
    server = CofreServer(tmp / "data", env={CLOCK_ENV: str(tmp / "clock-offset")}).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def user(console_server: CofreServer) -> Iterator[ConsoleUser]:
    with ConsoleUser(console_server) as console:
        assert console.sign_in().status_code == 303
        yield console


def _set_clock(server: CofreServer, seconds: float) -> None:
    Path(server.env[CLOCK_ENV]).write_text(str(seconds))
    time.sleep(0.3)  # the server reads the offset at most ten times a second


def _cookie_header(response: httpx.Response) -> str:
    cookies = response.headers.get_list("set-cookie")
    assert len(cookies) == 1, cookies
    return cookies[0]


def test_sign_in_sets_a_strict_http_only_cookie(console_server: CofreServer) -> None:
    with ConsoleUser(console_server) as console:
        response = console.sign_in()
        assert response.status_code == 303
        assert response.headers["location"] == "/console/keys"
        cookie = _cookie_header(response)
        flags = [part.strip() for part in cookie.split(";")]
        assert flags[0].startswith("cofre_console=")
        assert "HttpOnly" in flags and "SameSite=Strict" in flags and "Path=/console" in flags
        assert "Secure" not in flags  # plain HTTP: a Secure cookie would never come back
        max_age = int(next(f for f in flags if f.startswith("Max-Age="))[8:])
        assert 3500 < max_age <= 3600
        assert "cofre-test-secret" not in cookie  # the secret is checked, never sent back


def test_a_wrong_secret_is_refused_without_a_session(console_server: CofreServer) -> None:
    with ConsoleUser(console_server) as console:
        response = console.sign_in(secret="not-the-secret")
        assert response.status_code == 401
        assert "set-cookie" not in response.headers
        assert "not valid" in response.text
        unknown = console.sign_in(access_key_id="AKIAUNKNOWNUNKNOWN00")
        assert unknown.status_code == 401
        assert console.http.get("/console/keys").status_code == 303


def test_pages_carry_a_strict_csp_and_no_inline_script(user: ConsoleUser) -> None:
    for path in ("/console/keys", "/console/signin", "/console/parameters", "/console/audit"):
        response = user.page(path)
        csp = response.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-store"
        for tag in re.findall(r"<script[^>]*>", response.text):
            assert 'src="/console/static/' in tag  # no inline script, nothing from elsewhere
        assert "http://" not in response.text.replace(user.server.url, "")
        assert " style=" not in response.text and " on" + "click=" not in response.text


def test_static_assets_are_served_by_cofre(user: ConsoleUser) -> None:
    js = user.http.get("/console/static/console.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    css = user.http.get("/console/static/console.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert user.http.get("/console/static/../session.py").status_code == 404


def _create_key(user: ConsoleUser, **form: Any) -> str:
    response = user.post("/console/keys", {"kind": "SYMMETRIC_DEFAULT|ENCRYPT_DECRYPT", **form})
    assert response.status_code == 303, response.text
    return key_id_of(response.headers["location"])


def test_a_state_change_without_the_csrf_token_is_refused(user: ConsoleUser) -> None:
    key_id = _create_key(user, description="csrf")
    for form in ({}, {"csrf": "forged"}):
        response = user.post(f"/console/keys/{key_id}/disable", form, csrf=False)
        assert response.status_code == 403
        assert "CSRF" in response.text
    assert "Enabled" in user.page(f"/console/keys/{key_id}").text
    kms = user.server.client("kms")
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"


def test_a_cross_origin_post_is_refused(user: ConsoleUser) -> None:
    key_id = _create_key(user)
    response = user.http.post(
        f"/console/keys/{key_id}/disable",
        data={"csrf": user.csrf},
        headers={"Origin": "http://attacker.example"},
    )
    assert response.status_code == 403
    assert user.server.client("kms").describe_key(KeyId=key_id)["KeyMetadata"]["Enabled"]


def test_keys_create_alias_disable_enable_and_policy(user: ConsoleUser) -> None:
    key_id = _create_key(user, description="from the console", alias="console-first")
    kms = user.server.client("kms")
    page = user.page(f"/console/keys/{key_id}")
    assert "alias/console-first" in page.text and "from the console" in page.text
    added = user.post(f"/console/keys/{key_id}/add-alias", {"alias": "console-second"})
    assert added.status_code == 303
    names = {a["AliasName"] for a in kms.list_aliases(KeyId=key_id)["Aliases"]}
    assert names == {"alias/console-first", "alias/console-second"}
    assert user.post(f"/console/keys/{key_id}/disable").status_code == 303
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Disabled"
    assert user.post(f"/console/keys/{key_id}/enable").status_code == 303
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    malformed = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow"}]'
    refused = user.post(f"/console/keys/{key_id}/policy", {"policy": malformed})
    assert refused.status_code == 400
    assert 'id="policy-failure"' in refused.text
    assert "MalformedPolicyDocumentException" in refused.text
    assert "{&#34;Version&#34;: &#34;2012-10-17&#34;, &#34;Statement" in refused.text  # kept
    listed = user.page("/console/keys", q="console-first")
    assert key_id in listed.text
    assert key_id not in user.page("/console/keys", q="no-such-key-anywhere").text
    assert key_id not in user.page("/console/keys", state="Disabled").text


def test_console_actions_are_api_calls_in_the_audit_trail(user: ConsoleUser) -> None:
    key_id = _create_key(user)
    assert user.post(f"/console/keys/{key_id}/disable").status_code == 303
    trail = user.server.client("cloudtrail")
    deadline = time.monotonic() + 20
    while True:
        events = trail.lookup_events(
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "DisableKey"}]
        )["Events"]
        mine = [e for e in events if key_id in e["CloudTrailEvent"]]
        if mine or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert mine
    record = mine[0]["CloudTrailEvent"]
    assert '"userAgent":"cofre-console"' in record.replace(" ", "")
    assert ACCESS_KEY_ID in record


def test_a_user_without_permission_sees_access_denied(console_server: CofreServer) -> None:
    reader = make_user(console_server, allow(["kms:ListKeys", "kms:ListAliases"]))
    admin_kms = console_server.client("kms")
    key_id = admin_kms.create_key(Description="not yours")["KeyMetadata"]["KeyId"]
    with ConsoleUser(console_server) as console:
        assert console.sign_in(reader.access_key_id, reader.secret_access_key).status_code == 303
        listing = console.page("/console/keys")
        assert listing.status_code == 200
        assert "AccessDeniedException" in listing.text  # DescribeKey of each row
        detail = console.page(f"/console/keys/{key_id}")
        assert detail.status_code == 400
        assert "AccessDeniedException" in detail.text
        assert "is not authorized to perform: kms:DescribeKey" in detail.text
        denied = console.post(f"/console/keys/{key_id}/disable")
        assert denied.status_code == 400 and "AccessDeniedException" in denied.text
        assert "Traceback" not in denied.text
    assert admin_kms.describe_key(KeyId=key_id)["KeyMetadata"]["Enabled"]


def test_sign_out_ends_the_session_everywhere(console_server: CofreServer) -> None:
    with ConsoleUser(console_server) as console:
        console.sign_in()
        stolen = console.http.cookies.get("cofre_console")
        assert stolen
        response = console.post("/console/signout")
        assert response.status_code == 303 and response.headers["location"] == "/console/signin"
        assert "Max-Age=0" in _cookie_header(response)
        assert console.http.get("/console/keys").status_code == 303
    replayed = {"cofre_console": stolen}  # a copy of the old cookie
    with httpx.Client(base_url=console_server.url, cookies=replayed) as replay:
        again = replay.get("/console/keys")
        assert again.status_code == 303
        assert again.headers["location"] == "/console/signin"
    with ConsoleUser(console_server) as fresh:  # signing in again works at once
        assert fresh.sign_in().status_code == 303
        assert fresh.page("/console/keys").status_code == 200


def test_a_session_expires(console_server: CofreServer) -> None:
    with ConsoleUser(console_server) as console:
        console.sign_in()
        assert console.page("/console/keys").status_code == 200
        try:
            _set_clock(console_server, 3601)
            expired = console.http.get("/console/keys")
            assert expired.status_code == 303 and expired.headers["location"] == "/console/signin"
            assert console.post("/console/signout").status_code == 403
        finally:
            _set_clock(console_server, 0)


def test_a_tampered_cookie_is_no_session(console_server: CofreServer) -> None:
    with ConsoleUser(console_server) as console:
        console.sign_in()
        value = console.http.cookies.get("cofre_console")
        assert value
        flipped = value[:-3] + ("A" if value[-3] != "A" else "B") + value[-2:]
        for forged in (flipped, "garbage", "A" * 3000, ""):
            jar = {"cofre_console": forged}
            with httpx.Client(base_url=console_server.url, cookies=jar) as other:
                response = other.get("/console/keys")
                assert response.status_code == 303


def test_no_console_flag(tmp_path: Path) -> None:
    server = CofreServer(tmp_path / "data", extra_args=("--no-console",)).start()
    try:
        response = httpx.get(f"{server.url}/console/signin")
        assert response.status_code >= 400
        assert "text/html" not in response.headers.get("content-type", "")
    finally:
        server.stop()


def test_the_cookie_is_secure_under_tls(tmp_path: Path) -> None:
    certs = make_self_signed(tmp_path / "tls")
    server = CofreServer(
        tmp_path / "data",
        extra_args=("--tls-cert", str(certs.cert), "--tls-key", str(certs.key)),
        tls_cafile=certs.cert,
    ).start()
    try:
        with ConsoleUser(server) as console:
            response = console.sign_in()
            assert response.status_code == 303
            assert "; Secure" in _cookie_header(response)
            assert console.page("/console/keys").status_code == 200
    finally:
        server.stop()


def test_sessions_hold_across_workers_and_end_on_all(tmp_path: Path) -> None:
    """Every worker opens every other's session cookies, and a sign-out on one is
    honoured by all (new connections spread over the SO_REUSEPORT group)."""
    server = CofreServer(tmp_path / "data", workers=2).start()
    fresh = httpx.Limits(max_keepalive_connections=0)
    try:
        with ConsoleUser(server, limits=fresh) as console:
            assert console.sign_in().status_code == 303
            cookie = console.http.cookies.get("cofre_console")
            for _ in range(12):
                assert console.page("/console/keys").status_code == 200
            key_id = _create_key(console)
            for _ in range(6):
                assert console.post(f"/console/keys/{key_id}/disable").status_code == 303
            assert console.post("/console/signout").status_code == 303
        jar = {"cofre_console": cookie or ""}
        with httpx.Client(base_url=server.url, cookies=jar, limits=fresh) as replay:
            for _ in range(12):
                assert replay.get("/console/keys").status_code == 303
    finally:
        server.stop()


def test_an_assumed_role_signs_in_with_its_session_token(console_server: CofreServer) -> None:
    user = make_user(console_server)
    role_name = unique("console-role")
    trust = document(
        {"Effect": "Allow", "Principal": {"AWS": user.arn}, "Action": "sts:AssumeRole"}
    )
    iam = console_server.client("iam")
    role = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=trust)["Role"]
    listing = document(allow(["kms:ListKeys", "kms:ListAliases"]))
    iam.put_role_policy(RoleName=role_name, PolicyName="list", PolicyDocument=listing)
    creds = user.client(console_server, "sts").assume_role(
        RoleArn=role["Arn"], RoleSessionName="console", DurationSeconds=900
    )["Credentials"]
    with ConsoleUser(console_server) as console:
        no_token = console.sign_in(creds["AccessKeyId"], creds["SecretAccessKey"])
        assert no_token.status_code == 401
        wrong = console.sign_in(creds["AccessKeyId"], creds["SecretAccessKey"], session_token="x")
        assert wrong.status_code == 401
        signed = console.sign_in(
            creds["AccessKeyId"], creds["SecretAccessKey"], session_token=creds["SessionToken"]
        )
        assert signed.status_code == 303
        max_age = int(_cookie_header(signed).split("Max-Age=")[1].split(";")[0])
        assert max_age <= 900  # never beyond the role session
        page = console.page("/console/keys")
        assert page.status_code == 200 and f"assumed-role/{role_name}/console" in page.text
        try:
            _set_clock(console_server, 901)
            assert console.http.get("/console/keys").status_code == 303
        finally:
            _set_clock(console_server, 0)


def test_a_policy_that_locks_the_caller_out_is_refused_in_place(user: ConsoleUser) -> None:
    key_id = _create_key(user)
    other = {"AWS": "arn:aws:iam::111122223333:user/someone-else"}
    lockout = document({"Effect": "Allow", "Principal": other, "Action": "kms:*", "Resource": "*"})
    refused = user.post(f"/console/keys/{key_id}/policy", {"policy": lockout})
    assert refused.status_code == 400
    assert 'id="policy-failure"' in refused.text
    assert "MalformedPolicyDocumentException" in refused.text
    assert "someone-else" in refused.text  # the draft is kept in the editor


def test_the_keys_list_pages(user: ConsoleUser) -> None:
    made = {_create_key(user, description="paging") for _ in range(27)}
    seen: set[str] = set()
    page = user.page("/console/keys", q="paging")
    for _ in range(10):
        seen |= {k for k in made if k in page.text}
        found = re.search(r'id="next-page" href="([^"]+)"', page.text)
        if found is None:
            break
        page = user.page(found.group(1).replace("&amp;", "&"))
        assert 'id="first-page"' in page.text
    assert seen == made


def test_head_has_no_body(user: ConsoleUser) -> None:
    response = user.http.head("/console/keys")
    assert response.status_code == 200 and response.content == b""
    assert "content-security-policy" in response.headers
    assert user.page("/console/keys").status_code == 200  # the connection is still in step
