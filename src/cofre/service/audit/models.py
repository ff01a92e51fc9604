"""The botocore service models audit records are redacted by, loaded once per process.

Botocore is a dependency of Cofre's (the API layer validates requests with the same
models); reading its data files here keeps the service layer free of the API layer.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from cofre.core.xks.audit import MODEL as XKS_MODEL
from cofre.core.xks.audit import SERVICE as XKS_SERVICE


@functools.cache
def _loader() -> Any:
    from botocore.loaders import Loader

    return Loader()


@functools.cache
def botocore_model(service: str) -> Mapping[str, Any] | None:
    """The botocore service model redaction follows ("cofre" has none: nothing of its
    parameters is logged). Botocore is a dependency of Cofre's, not an API-layer import."""
    from botocore.exceptions import DataNotFoundError, UnknownServiceError

    if service == "cofre":
        return None
    if service == XKS_SERVICE:  # Cofre as an XKS proxy: no botocore model (ADR 22)
        return XKS_MODEL
    try:
        model: Mapping[str, Any] = _loader().load_service_model(service, "service-2")
    except (DataNotFoundError, UnknownServiceError):
        return None
    return model
