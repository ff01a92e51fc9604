"""Parameter Store (SSM) operations on the wire: decode the shape, call the service, encode.

Operations of the SSM model that are not in ``OPERATIONS`` answer
UnsupportedOperationException.
"""

from __future__ import annotations

from cofre.api.operation import Operation

OPERATIONS: dict[str, Operation] = {}
