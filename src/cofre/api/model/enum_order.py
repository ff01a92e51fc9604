"""The order AWS lists an enum's values in when a value is not one of them.

A ValidationException for an enum lists "the enum value set" in the server's own order,
which is not always the model's: recorded from real AWS, GenerateMac with MacAlgorithm
"INVALID" lists ``[HMAC_SHA_384, HMAC_SHA_256, HMAC_SHA_224, HMAC_SHA_512]`` where the
model has them in ascending order. Each row names its evidence; values of the model
missing from a row keep the model's order after it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SERVER_ORDER: dict[tuple[str, str], tuple[str, ...]] = {
    # localstack's real-AWS snapshot, test_invalid_generate_mac / test_invalid_verify_mac
    ("kms", "MacAlgorithmSpec"): ("HMAC_SHA_384", "HMAC_SHA_256", "HMAC_SHA_224", "HMAC_SHA_512"),
    # the same snapshot, test_hmac_create_key_invalid_operations (recorded 2023-04, before
    # KEY_AGREEMENT and ENCAPSULATE_DECAPSULATE existed; those follow in the model's order)
    ("kms", "KeyUsageType"): ("ENCRYPT_DECRYPT", "SIGN_VERIFY", "GENERATE_VERIFY_MAC"),
    # moto's SSM PutParameter (unconfirmed against AWS)
    ("ssm", "ParameterType"): ("SecureString", "StringList", "String"),
}


def in_server_order(service: str, shape_name: str, shape: Mapping[str, Any]) -> Mapping[str, Any]:
    """``shape`` with its enum in the order AWS lists it (the shape itself if no row)."""
    order = SERVER_ORDER.get((service, shape_name))
    if order is None or "enum" not in shape:
        return shape
    values = list(shape["enum"])
    ranked = [v for v in order if v in values] + [v for v in values if v not in order]
    return {**shape, "enum": ranked}
