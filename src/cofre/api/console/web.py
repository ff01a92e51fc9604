"""HTTP for the console's pages: forms, cookies, the security headers, rendering."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, quote

from jinja2 import Environment, PackageLoader, select_autoescape

from cofre.api.http.exchange import Incoming, Outgoing, header

HTML = b"text/html; charset=utf-8"
# MUST of the brief: no inline script, nothing from elsewhere (CSP Level 3 directives).
CSP = (
    b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self';"
    b" connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"Content-Security-Policy", CSP),
    (b"X-Content-Type-Options", b"nosniff"),
    (b"X-Frame-Options", b"DENY"),
    (b"Referrer-Policy", b"same-origin"),  # no-referrer would make form posts Origin: null
    (b"Cache-Control", b"no-store"),
    (b"Cross-Origin-Opener-Policy", b"same-origin"),
)

_templates = Environment(
    loader=PackageLoader("cofre.api.console", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def fields(data: bytes) -> dict[str, str]:
    """A form or query string's fields, the first value of each (bounded)."""
    try:
        parsed = parse_qs(
            data.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=200
        )
    except ValueError:  # more fields than any form of the console has
        return {}
    return {name[:100]: values[0] for name, values in parsed.items()}


def cookies(request: Incoming) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in header(request, b"cookie").split(";"):
        name, _, value = part.strip().partition("=")
        if name and name not in out:
            out[name] = value
    return out


def url(where: str, /, **query: Any) -> str:
    """A console URL with its query (empty values left out)."""
    items = [f"{k}={quote(str(v), safe='')}" for k, v in query.items() if v not in (None, "")]
    return where + ("?" + "&".join(items) if items else "")


def when(value: Any) -> str:
    """A timestamp as the pages show it: to the second, in UTC."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return "" if value is None else str(value)


_templates.globals["url"] = url
_templates.filters["when"] = when


@dataclass
class Page:
    """An HTML response: a template and what it shows, or a redirect."""

    template: str = ""
    context: Mapping[str, Any] = field(default_factory=dict)
    status: int = 200
    location: str = ""
    cookies: tuple[bytes, ...] = ()


def redirect(location: str, *set_cookies: bytes) -> Page:
    return Page(status=303, location=location, cookies=set_cookies)


def render(page: Page, base: Mapping[str, Any]) -> Outgoing:
    headers = list(SECURITY_HEADERS)
    headers += [(b"Set-Cookie", cookie) for cookie in page.cookies]
    if page.location:
        headers.append((b"Location", page.location.encode("utf-8")))
        return Outgoing(page.status, b"", HTML, headers=tuple(headers))
    body = _templates.get_template(page.template).render({**base, **page.context})
    return Outgoing(page.status, body.encode("utf-8"), HTML, headers=tuple(headers))


def plain(status: int, text: str) -> Outgoing:
    return Outgoing(
        status, text.encode("utf-8"), b"text/plain; charset=utf-8", headers=SECURITY_HEADERS
    )


def session_cookie(value: str, max_age: int, secure: bool, path: str) -> bytes:
    cookie = f"cofre_console={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict"
    return (cookie + ("; Secure" if secure else "")).encode("ascii")
