"""The web console in a real Chromium against a real ``cofre serve``: sign in, keys,
aliases, a refused policy, disable and enable, parameters and reveal, the audit page,
IAM, a denied user, sign-out; screenshots of each page (tests/artifacts/console/), the
390 px layout, keyboard reachability and accessible names."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.browser import chrome, require_browser, screenshot
from tests.support.iam import allow, make_user, unique
from tests.support.server import ACCESS_KEY_ID, SECRET_ACCESS_KEY, CofreServer

pytestmark = pytest.mark.slow

# Every control without an accessible name (label, aria-label, aria-labelledby, or text).
SCROLL_TO = "arguments[0].scrollIntoView({block: 'start'}); window.scrollBy(0, -60)"
CONTROLS = "a[href], button, input:not([type=hidden]), select, textarea, summary"
UNNAMED = """
const controls = document.querySelectorAll(arguments[0]);
const bad = [];
for (const el of controls) {
  const named = (el.labels && el.labels.length) || el.getAttribute('aria-label')
    || el.getAttribute('aria-labelledby') || (el.textContent || '').trim() || el.title;
  if (!named) bad.push(el.outerHTML.slice(0, 120));
}
return bad;
"""
# Every control that cannot take the keyboard focus (negative tabindex, disabled aside).
UNREACHABLE = """
const controls = document.querySelectorAll(arguments[0]);
return [...controls].filter(el => el.tabIndex < 0 && !el.disabled)
  .map(el => el.outerHTML.slice(0, 120));
"""


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CofreServer]:
    require_browser()
    server = CofreServer(tmp_path_factory.mktemp("cofre-console-browser") / "data").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def driver(console_server: CofreServer) -> Iterator[Any]:
    yield from chrome()


def _viewport(driver: Any, width: int, height: int, mobile: bool = False) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
    )


def _wait(condition: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = condition()
        except Exception:  # not there yet
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("the page did not get there in time")
        time.sleep(0.1)


def _by_id(driver: Any, element_id: str) -> Any:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, element_id)


def _fill(driver: Any, element_id: str, text: str) -> None:
    field = _by_id(driver, element_id)
    field.clear()
    field.send_keys(text)


def _check_page(driver: Any, name: str, show: Any = None) -> None:
    """A page's checks: a screenshot (``show`` scrolled into view), accessible names,
    keyboard reachability, no CSP violation in the browser's log."""
    if show is not None:
        driver.execute_script(
            "arguments[0].scrollIntoView({block: 'start'}); window.scrollBy(0, -60)", show
        )
    screenshot(driver, name)
    assert driver.execute_script(UNNAMED, CONTROLS) == [], name
    assert driver.execute_script(UNREACHABLE, CONTROLS) == [], name
    logs = driver.get_log("browser")
    assert not [e for e in logs if "Content Security Policy" in e.get("message", "")], logs


def _sign_in(driver: Any, server: CofreServer, access_key_id: str, secret: str) -> None:
    driver.get(f"{server.url}/console/signin")
    _fill(driver, "access_key_id", access_key_id)
    _fill(driver, "secret_access_key", secret)
    _by_id(driver, "signin").click()
    _wait(lambda: driver.current_url.endswith("/console/keys"))


def test_the_console_in_a_browser(console_server: CofreServer, driver: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    url = console_server.url
    _viewport(driver, 1280, 800)
    driver.get(f"{url}/console/keys")
    _wait(lambda: driver.current_url.endswith("/console/signin"))
    _check_page(driver, "01-signin")
    _sign_in(driver, console_server, ACCESS_KEY_ID, SECRET_ACCESS_KEY)
    assert driver.get_cookie("cofre_console")["httpOnly"] is True
    assert driver.execute_script("return document.cookie") == ""  # not readable by script

    # create a key with the keyboard only
    alias = unique("browser")
    _fill(driver, "description", "made in a browser")
    _fill(driver, "new-alias", alias)
    _by_id(driver, "new-alias").send_keys(Keys.ENTER)
    _wait(lambda: "/console/keys/" in driver.current_url and _by_id(driver, "key-arn"))
    key_id = driver.current_url.split("/console/keys/")[1].split("?")[0]
    assert f"alias/{alias}" in _by_id(driver, "aliases").text

    # a second alias
    _fill(driver, "alias", f"{alias}-two")
    _by_id(driver, "add-alias").click()
    _wait(lambda: f"alias/{alias}-two" in _by_id(driver, "aliases").text)

    # a malformed policy is refused in place, the typed text kept
    editor = _by_id(driver, "policy")
    editor.clear()
    editor.send_keys('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow"}]}')
    _by_id(driver, "save-policy").click()
    failure = _wait(lambda: _by_id(driver, "policy-failure"))
    assert "MalformedPolicyDocumentException" in failure.text
    assert '"Effect": "Allow"' in _by_id(driver, "policy").get_attribute("value")
    assert _by_id(driver, "policy").get_attribute("aria-invalid") == "true"
    _check_page(driver, "03-key-policy-refused", failure)

    # disable, then enable again
    _by_id(driver, "disable-key").click()
    _wait(lambda: _by_id(driver, "key-state").text == "Disabled")
    _by_id(driver, "enable-key").click()
    _wait(lambda: _by_id(driver, "key-state").text == "Enabled")
    _check_page(driver, "02-key")

    driver.get(f"{url}/console/keys")
    assert key_id in _by_id(driver, "keys").text
    _check_page(driver, "02-keys")

    # parameters in a hierarchy, browsed, and a SecureString revealed
    root = "/" + unique("web")
    driver.get(f"{url}/console/parameters")
    for name, value, kind in ((f"{root}/db/host", "db.internal", "String"),
                              (f"{root}/db/password", "s3cret-in-browser", "SecureString"),
                              (f"{root}/name", "shop", "String")):  # fmt: skip
        driver.get(f"{url}/console/parameters")
        _fill(driver, "create-name", name)
        Select(_by_id(driver, "create-type")).select_by_visible_text(kind)
        _fill(driver, "create-value", value)
        _by_id(driver, "create-save").click()
        _wait(lambda n=name: "/console/parameter?name=" in driver.current_url
              and n in driver.title)  # fmt: skip
    driver.get(f"{url}/console/parameters")
    driver.find_element(By.LINK_TEXT, root.strip("/") + "/").click()
    _wait(lambda: "db/" in _by_id(driver, "tree").text)
    driver.find_element(By.LINK_TEXT, "db/").click()
    _wait(lambda: f"{root}/db/password" in _by_id(driver, "tree").text)
    _check_page(driver, "04-parameters")
    driver.find_element(By.LINK_TEXT, f"{root}/db/password").click()
    _wait(lambda: _by_id(driver, "reveal"))
    assert "s3cret-in-browser" not in driver.page_source
    _by_id(driver, "reveal").click()
    _wait(lambda: "s3cret-in-browser" in _by_id(driver, "param-value").text)
    ssm = console_server.client("ssm")
    assert ssm.get_parameter(Name=f"{root}/db/host")["Parameter"]["Type"] == "String"
    _check_page(driver, "05-parameter-revealed", _by_id(driver, "param-value"))

    # the audit page shows what was done
    for event in ("DisableKey", "PutParameter", "GetParameter"):

        def found(name: str = event) -> bool:
            driver.get(f"{url}/console/audit?attr=EventName&value={name}")
            return name in _by_id(driver, "events").text and "cofre-console" in driver.page_source

        _wait(found, timeout=20)
    driver.find_element(By.CSS_SELECTOR, "#events details summary").click()
    _check_page(driver, "06-audit", _by_id(driver, "events"))

    driver.get(f"{url}/console/iam")
    _check_page(driver, "07-iam")
    member = unique("member")
    _fill(driver, "user_name", member)
    _by_id(driver, "create-user").click()
    _wait(lambda: driver.current_url.split("?")[0].endswith(f"/console/iam/users/{member}"))
    _by_id(driver, "create-access-key").click()
    secret = _wait(lambda: _by_id(driver, "new-key-secret")).text
    assert len(secret) >= 40
    _check_page(driver, "07-iam-user-new-key", _by_id(driver, "new-key"))
    driver.get(f"{url}/console/iam/users/{member}")
    assert secret not in driver.page_source  # shown once
    driver.get(f"{url}/console/iam")
    role = unique("role")
    _fill(driver, "role_name", role)
    trust = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal":'
    trust += ' {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "sts:AssumeRole"}]}'
    _fill(driver, "trust", trust)
    _by_id(driver, "create-role").click()
    _wait(lambda: driver.current_url.split("?")[0].endswith(f"/console/iam/roles/{role}"))
    _check_page(driver, "07-iam-role")

    # 390 px wide: no sideways scrolling of the page
    _viewport(driver, 390, 844, mobile=True)
    for path, name in (("/console/keys", "08-keys-390"), (f"/console/keys/{key_id}", "08-key-390"),
                       ("/console/audit", "08-audit-390")):  # fmt: skip
        driver.get(url + path)
        width = driver.execute_script("return document.documentElement.scrollWidth")
        assert width <= 390, (path, width)
        screenshot(driver, name)
    _viewport(driver, 1280, 800)

    # sign out ends the session
    driver.get(f"{url}/console/keys")
    _by_id(driver, "signout").click()
    _wait(lambda: driver.current_url.endswith("/console/signin"))
    driver.get(f"{url}/console/keys")
    _wait(lambda: driver.current_url.endswith("/console/signin"))


def test_a_denied_user_sees_the_denial(console_server: CofreServer, driver: Any) -> None:
    key_id = console_server.client("kms").create_key()["KeyMetadata"]["KeyId"]
    reader = make_user(console_server, allow(["kms:ListKeys", "kms:ListAliases"]))
    _viewport(driver, 1280, 800)
    _sign_in(driver, console_server, reader.access_key_id, reader.secret_access_key)
    driver.get(f"{console_server.url}/console/keys/{key_id}")
    error = _wait(lambda: _by_id(driver, "error"))
    assert "AccessDeniedException" in error.text
    assert "is not authorized to perform: kms:DescribeKey" in error.text
    _check_page(driver, "09-denied")


def test_a_missing_browser_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support import browser

    monkeypatch.setattr(browser, "_which", lambda names: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception):
        browser.require_browser()
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception):
        browser.require_browser()
