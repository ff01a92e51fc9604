"""Where Cofre's input checks differ from the AWS models it serves.

* ``REQUIRED``: members a model leaves optional only because AWS added a feature Cofre
  does not serve (a ciphertext for a Nitro enclave's ``Recipient``, a service principal
  instead of a grantee); Cofre needs them, so a request without one is refused exactly as
  a missing required member is (``Value null at 'ciphertextBlob' failed to satisfy
  constraint: Member must not be null``) -- never a fault in a handler.
* ``UNSUPPORTED``: members of features Cofre does not have. A request that sets one is
  refused (``UnsupportedOperationException``) rather than served as if it were absent.

Both are per (service, operation), checked before the handler sees the input.

* ``PATTERNS``: shapes whose pattern Cofre widens (per service and shape): an XKS proxy's
  endpoint may carry a port, and use ``http://`` for a loopback address (the service
  layer refuses any other ``http://``; ADR 22).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

REQUIRED: Mapping[tuple[str, str], tuple[str, ...]] = {
    ("kms", "Decrypt"): ("CiphertextBlob",),
    ("kms", "ReEncrypt"): ("CiphertextBlob",),
    ("kms", "CreateGrant"): ("GranteePrincipal",),
    ("kms", "ListRetirableGrants"): ("RetiringPrincipal",),
}

UNSUPPORTED: Mapping[tuple[str, str], tuple[str, ...]] = {
    ("kms", "CreateGrant"): ("GranteeServicePrincipal", "RetiringServicePrincipal"),
    ("kms", "ListGrants"): ("GranteeServicePrincipal",),
    ("kms", "ListRetirableGrants"): ("RetiringServicePrincipal",),
    ("kms", "Decrypt"): ("DryRunModifiers",),
    ("kms", "ReEncrypt"): ("DryRunModifiers",),
}


PATTERNS: Mapping[tuple[str, str], str] = {
    ("kms", "XksProxyUriEndpointType"): r"^https?://[a-zA-Z0-9.-]+(:[0-9]{1,5})?$",
}


def with_required(
    service: str, shapes: Mapping[str, Mapping[str, Any]], operations: Mapping[str, Any]
) -> dict[str, Mapping[str, Any]]:
    """``shapes`` with the input shapes of ``service``'s operations requiring what
    ``REQUIRED`` adds and the patterns of ``PATTERNS`` (copies; the model itself is not
    changed)."""
    out = dict(shapes)
    for (owner, shape_name), pattern in PATTERNS.items():
        if owner == service and shape_name in out:
            out[shape_name] = {**out[shape_name], "pattern": pattern}
    for (owner, operation), members in REQUIRED.items():
        if owner != service or operation not in operations:
            continue
        name = operations[operation]["input"]["shape"]
        shape = dict(out[name])
        shape["required"] = [*shape.get("required", ()), *members]
        out[name] = shape
    return out


def unsupported(service: str, operation: str) -> tuple[str, ...]:
    return UNSUPPORTED.get((service, operation), ())
