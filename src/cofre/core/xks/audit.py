"""What the audit record of an XKS call logs (ADR 22): a service model in botocore's form
for the redaction that every record goes through (``cofre.core.audit.redact``). Only
the members named here are logged: the external key id, the algorithms and the
``requestMetadata`` AWS KMS sends (its principal, operation and request id). Plaintext,
ciphertext, associated data, IVs and tags are never logged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SERVICE = "kms-xks-proxy"  # the SigV4 service name, and the records' service
OPERATIONS = ("GetHealthStatus", "GetKeyMetadata", "Encrypt", "Decrypt")

_METADATA_MEMBERS = (
    "awsPrincipalArn",
    "awsSourceVpc",
    "awsSourceVpce",
    "kmsKeyArn",
    "kmsOperation",
    "kmsRequestId",
    "kmsViaService",
)

MODEL: Mapping[str, Any] = {
    "operations": {name: {"input": {"shape": "XksRequest"}} for name in OPERATIONS},
    "shapes": {
        "String": {"type": "string"},
        "RequestMetadata": {
            "type": "structure",
            "members": {name: {"shape": "String"} for name in _METADATA_MEMBERS},
        },
        "XksRequest": {
            "type": "structure",
            "members": {
                "externalKeyId": {"shape": "String"},
                "requestMetadata": {"shape": "RequestMetadata"},
                "encryptionAlgorithm": {"shape": "String"},
                "ciphertextDataIntegrityValueAlgorithm": {"shape": "String"},
            },
        },
    },
}
