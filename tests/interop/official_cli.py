"""The official aws-encryption-cli (aws-encryption-sdk 3.x), from its own venv.

``scripts/bootstrap`` installs it into ``.venv-esdk-cli`` from
``tests/interop/requirements-esdk-cli.txt``, with the raw AES plugin of
``tests/interop/esdk_cli_plugin``. Without that venv the tests that need it skip, except
under ``CI=true``, where they fail.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VENV = REPO / ".venv-esdk-cli"
OFFICIAL = VENV / "bin" / "aws-encryption-cli"


def require_official_cli() -> Path:
    if OFFICIAL.is_file() and os.access(OFFICIAL, os.X_OK):
        return OFFICIAL
    reason = f"the official aws-encryption-cli is not installed in {VENV} (run scripts/bootstrap)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def official(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run the official CLI; its own environment only (nothing of the main venv's)."""
    base = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    return subprocess.run(
        [str(require_official_cli()), *args], capture_output=True, timeout=300,
        env={**base, **(env or {})}, check=False,
    )  # fmt: skip
