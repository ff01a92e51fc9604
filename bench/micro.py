"""In-process micro-benchmarks of the request path's parts that used to be timed in tests:
decoding and validating an Encrypt input against the botocore model, and verifying a
SigV4 signature (signing key cached). Prints µs per operation; no pass/fail.

::

    .venv/bin/python bench/micro.py [--rounds 5] [--count 100000]
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from cofre.api.model.service import ServiceModel
from cofre.api.sigv4.verify import HttpRequest, SigV4Verifier

ACCESS, SECRET = "AKIABENCHMICRO000001", "bench-micro-secret-000000000000000000000"


def _encrypt_body() -> bytes:
    return json.dumps({
        "KeyId": "alias/my-app-key",
        "Plaintext": base64.b64encode(b"x" * 64).decode(),
        "EncryptionContext": {"purpose": "test", "tenant": "t-42"},
    }).encode()  # fmt: skip


class _Secrets:
    def secret_for(self, access_key_id: str) -> str | None:
        return SECRET if access_key_id == ACCESS else None


def _signed() -> tuple[HttpRequest, datetime]:
    body = _encrypt_body()
    request = AWSRequest(
        method="POST",
        url="http://127.0.0.1:4566/",
        data=body,
        headers={"Content-Type": "application/x-amz-json-1.1",
                 "X-Amz-Target": "TrentService.Encrypt"},
    )  # fmt: skip
    SigV4Auth(Credentials(ACCESS, SECRET), "kms", "us-east-1").add_auth(request)
    headers = [(k.lower().encode(), v.encode()) for k, v in request.headers.items()]
    headers.append((b"host", b"127.0.0.1:4566"))
    when = datetime.strptime(request.headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    return HttpRequest("POST", "/", b"", headers, body), when


def _time(work: Callable[[], object], count: int, rounds: int) -> list[float]:
    work()
    out = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(count):
            work()
        out.append((time.perf_counter() - started) / count * 1e6)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--count", type=int, default=100_000)
    args = parser.parse_args()
    operation = ServiceModel.load("kms").operation("Encrypt")
    body = _encrypt_body()
    verifier = SigV4Verifier(_Secrets())
    request, when = _signed()
    for name, work in (
        ("parse_input Encrypt", lambda: operation.parse_input(body)),
        ("SigV4 verify (key cached)", lambda: verifier.verify(request, when)),
    ):
        figures = _time(work, args.count, args.rounds)
        spread = f"min {min(figures):.2f}, max {max(figures):.2f}; {args.rounds} x {args.count}"
        print(f"{name:28} median {statistics.median(figures):6.2f} µs  ({spread})")


if __name__ == "__main__":
    main()
