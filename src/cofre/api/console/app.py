"""The web console (ADR 15): ``/console/`` on the API's own listener.

Every page runs on a thread of the pipeline's pool. A request is: the static files and
the sign-in form (no session); otherwise a valid session cookie
(:mod:`~cofre.api.console.session`), for a POST the same origin and the session's CSRF
token, then the page, whose calls go through the API's pipeline as the signed-in
principal (:mod:`~cofre.api.console.calls`).
"""

from __future__ import annotations

import logging
import re
from importlib import resources

from cofre.api.console.calls import CallError, Client, Pipeline
from cofre.api.console.session import (
    COOKIE,
    COOKIE_PATH,
    USER_AGENT,
    Sessions,
    SignedIn,
    SignInError,
    caller_of,
)
from cofre.api.console.view import Handler, Route, View
from cofre.api.console.web import (
    Page,
    cookies,
    fields,
    plain,
    redirect,
    render,
    session_cookie,
)
from cofre.api.http.exchange import Incoming, Outgoing, header
from cofre.api.pipeline.attempt import Attempt
from cofre.api.pipeline.targets import request_id
from cofre.core.ids import is_region
from cofre.errors import CofreError, InternalError

log = logging.getLogger("cofre.console")

PREFIX = b"/console"
_BARE = {"bare": True}  # a page without the navigation (no session, or none usable)
_STATIC = {
    "console.css": b"text/css; charset=utf-8",
    "console.js": b"text/javascript",
    "favicon.svg": b"image/svg+xml",
}


def is_console_path(path: bytes) -> bool:
    return path == PREFIX or path.startswith(PREFIX + b"/")


def _routes() -> list[tuple[str, re.Pattern[str], Handler]]:
    from cofre.api.console.pages import audit, iam, keys, params, roles

    table: list[Route] = [
        *keys.ROUTES, *params.ROUTES, *audit.ROUTES, *iam.ROUTES, *roles.ROUTES,
    ]  # fmt: skip
    return [(method, re.compile(pattern + r"\Z"), handler) for method, pattern, handler in table]


class Console:
    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline
        self._sessions = Sessions(pipeline.services)
        self._routes = _routes()
        root = resources.files("cofre.api.console") / "static"
        self._static = {name: (root / name).read_bytes() for name in _STATIC}
        regions = pipeline.settings.regions
        self._default_region = regions[0] if regions else "us-east-1"
        self._regions = regions

    def answer(self, request: Incoming) -> Outgoing:
        try:
            response = self._answer(request)
        except CofreError as error:  # sealed, storage unavailable: the API's answer
            failure = CallError.of(error, "kms", "")
            response = render(Page("error.html", {"error": failure}, failure.status), _BARE)
        except Exception:  # a fault of ours: logged, answered with no detail
            log.exception("console page %s failed", request.path[:200])
            failure = CallError.of(InternalError(), "kms", "")
            response = render(Page("error.html", {"error": failure}, failure.status), _BARE)
        if request.method == "HEAD":  # the headers a GET would have, no body
            response.body = b""
        return response

    def _answer(self, request: Incoming) -> Outgoing:
        path = request.path.decode("utf-8", "replace")
        method = request.method
        if method not in ("GET", "HEAD", "POST"):
            return plain(405, "Method not allowed.")
        if path in ("/console", "/console/"):
            return render(redirect("/console/keys"), {})
        if path.startswith("/console/static/"):
            return self._static_file(path.rsplit("/", 1)[-1])
        if method == "POST" and not self._same_origin(request):
            return plain(403, "Cross-origin requests are refused.")
        if path == "/console/signin":
            return self._sign_in(request)
        signed_in = self._sessions.open(cookies(request).get(COOKIE, ""))
        if signed_in is None:
            if method == "POST":
                return plain(403, "Your console session has ended. Sign in again.")
            return render(redirect("/console/signin", self._cookie("", 0, request)), {})
        session = signed_in.session
        form = fields(request.body or b"") if method == "POST" else {}
        if method == "POST" and not session.csrf_matches(form.get("csrf", "")):
            return plain(403, "The form's CSRF token is missing or wrong. Reload the page.")
        if path == "/console/signout" and method == "POST":
            self._sessions.sign_out(session)
            return render(redirect("/console/signin", self._cookie("", 0, request)), {})
        caller = caller_of(signed_in, request.client_ip, request.secure)
        created = signed_in.credential.created_at if caller.role_arn is not None else None
        client = Client(self._pipeline, caller, created)
        query = fields(request.query)
        base = {"me": caller, "csrf": session.csrf, "region": session.region}
        for route_method, pattern, handler in self._routes:
            found = pattern.match(path)
            if found is None or route_method != ("GET" if method == "HEAD" else method):
                continue
            view = View(request, session, client, query, form, found)
            try:
                page = handler(view)
            except CallError as error:  # a page that cannot be shown at all
                page = Page("error.html", {"error": error}, status=error.status)
            return render(page, base)
        return render(Page("error.html", {"missing": True}, status=404), base)

    # sign-in ----------------------------------------------------------------------------------
    def _sign_in(self, request: Incoming) -> Outgoing:
        context = {"regions": self._regions, "default_region": self._default_region, "bare": True}
        if request.method != "POST":
            return render(Page("signin.html"), context)
        form = fields(request.body or b"")
        region = form.get("region", "").strip() or self._default_region
        access_key_id = form.get("access_key_id", "").strip()[:128]
        try:
            if not is_region(region) or (self._regions and region not in self._regions):
                region = self._default_region
                raise SignInError()
            signed_in, value = self._sessions.sign_in(
                access_key_id,
                form.get("secret_access_key", ""),
                form.get("session_token", "").strip(),
                region,
            )
        except SignInError as failure:
            self._record_sign_in(request, region, access_key_id, None)
            page = Page("signin.html", {"failure": failure.message}, status=401)
            return render(page, context)
        self._record_sign_in(request, region, access_key_id, signed_in)
        left = self._sessions.lifetime_left(signed_in.session)
        return render(redirect("/console/keys", self._cookie(value, left, request)), {})

    def _record_sign_in(
        self, request: Incoming, region: str, access_key_id: str, signed_in: SignedIn | None
    ) -> None:
        """The sign-in's audit record (``ConsoleLogin``, Cofre's event source; none of the
        form is logged), written before the answer: a sign-in that cannot be recorded
        fails (AuditUnavailableError, answered by :meth:`answer`)."""
        services = self._pipeline.services
        attempt = Attempt.begin(request_id(), services.clock.now(), request.client_ip, USER_AGENT)
        attempt.service, attempt.operation, attempt.region = "cofre", "ConsoleLogin", region
        attempt.read_only = True
        if signed_in is not None:
            attempt.caller = caller_of(signed_in, request.client_ip, request.secure)
            services.audit.record(attempt.finish())
            return
        attempt.access_key_id = access_key_id
        known = services.cache.credential(access_key_id) if access_key_id else None
        attempt.account_id = None if known is None else known.credential.account_id
        call = attempt.finish(error_code="AccessDenied", error_message="Failed authentication")
        services.audit.record(call)

    def _cookie(self, value: str, max_age: int, request: Incoming) -> bytes:
        return session_cookie(value, max_age, request.secure, COOKIE_PATH)

    def _same_origin(self, request: Incoming) -> bool:
        """A POST's Origin (when the browser sends one) names this server."""
        origin = header(request, b"origin")
        if not origin:
            return True
        scheme = "https" if request.secure else "http"
        return origin == f"{scheme}://{header(request, b'host')}"

    def _static_file(self, name: str) -> Outgoing:
        body = self._static.get(name)
        if body is None:
            return plain(404, "Not found.")
        response = plain(200, "")
        response.body, response.content_type = body, _STATIC[name]
        return response
