"""What a console page handler is given: one signed-in request."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from cofre.api.console.calls import Client
from cofre.api.console.session import Session
from cofre.api.console.web import Page
from cofre.api.http.exchange import Incoming


@dataclass
class View:
    """One signed-in request, as a page handler sees it."""

    request: Incoming
    session: Session
    client: Client
    query: dict[str, str]
    form: dict[str, str]
    match: re.Match[str]

    def arg(self, name: str) -> str:
        return self.match.group(name)


Handler = Callable[[View], Page]
Route = tuple[str, str, Handler]  # method, path pattern, handler
