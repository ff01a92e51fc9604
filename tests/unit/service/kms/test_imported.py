"""Imported keys with several materials, on a real service graph with the clock in hand:
expiry of one material among several (the background job and the import that follows),
and keys whose material was deleted before schema 7."""

from __future__ import annotations

import base64
import dataclasses
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from cofre.config import Settings
from cofre.container import Services
from cofre.core.iam.principals import Caller
from cofre.core.kms.keys import KeyState
from cofre.service.clock import ManualClock
from tests.conftest import BACKENDS, require_postgres
from tests.support.server import postgres_database

ACCOUNT = "111122223333"
T0 = datetime(2025, 3, 14, 9, 26, 53, tzinfo=UTC)
HOUR = timedelta(hours=1)
CALLER = Caller(account_id=ACCOUNT, principal_arn=f"arn:aws:iam::{ACCOUNT}:root",
                access_key_id="AKIACOFRETESTADMIN01", region="us-east-1")  # fmt: skip
OAEP = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


@pytest.fixture(params=BACKENDS)
def node(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Services, ManualClock]]:
    clock = ManualClock(T0)
    settings = Settings(data_dir=tmp_path / "data",
                        root_key_b64=base64.b64encode(os.urandom(32)).decode(),
                        job_interval=3600, change_poll_interval=3600)  # fmt: skip
    if request.param == "postgres":
        require_postgres()
        with postgres_database() as url:
            services = Services.build(dataclasses.replace(settings, database=url), clock=clock)
            services.accounts.ensure_account(ACCOUNT, "default")
            try:
                yield services, clock
            finally:
                services.close()
    else:
        services = Services.build(settings, clock=clock)
        services.accounts.ensure_account(ACCOUNT, "default")
        try:
            yield services, clock
        finally:
            services.close()


def bring(services: Services, key_id: str, material: bytes, **extra: object) -> bytes:
    params = services.imports.get_parameters_for_import(
        CALLER, key_id, "RSAES_OAEP_SHA_256", "RSA_2048"
    )
    public = serialization.load_der_public_key(params.public_key)
    encrypted = public.encrypt(material, OAEP)  # type: ignore[union-attr]
    _, found = services.imports.import_key_material(
        CALLER, key_id, params.import_token, encrypted,
        str(extra.pop("model", "KEY_MATERIAL_DOES_NOT_EXPIRE")),
        extra.pop("valid_to", None), **extra,  # type: ignore[arg-type]
    )  # fmt: skip
    return found


def state(services: Services, key_id: str) -> KeyState:
    return services.keys.describe_key(CALLER, key_id).state


def test_expiry_among_several_materials(node: tuple[Services, ManualClock]) -> None:
    services, clock = node
    key_id = services.keys.create_key(CALLER, origin="EXTERNAL").key_id
    a, b = os.urandom(32), os.urandom(32)
    bring(services, key_id, a, model="KEY_MATERIAL_EXPIRES", valid_to=T0 + HOUR)
    old = services.crypto.encrypt(CALLER, key_id, b"under a").blob
    bring(services, key_id, b, model="KEY_MATERIAL_EXPIRES", valid_to=T0 + 3 * HOUR,
          import_type="NEW_KEY_MATERIAL")  # fmt: skip
    services.keys.rotate_key_on_demand(CALLER, key_id)
    new = services.crypto.encrypt(CALLER, key_id, b"under b").blob
    assert services.keys.describe_key(CALLER, key_id).material_valid_to == T0 + HOUR

    # The job deletes the (non-current) material due first: the key is unusable.
    clock.advance(4 * HOUR)
    assert services.key_jobs.run_due_jobs(clock.now()) == 1
    assert state(services, key_id) is KeyState.PENDING_IMPORT
    assert services.key_jobs.run_due_jobs(clock.now()) == 0  # nothing left due for the job
    # Reimporting it is not enough: the current material expired meanwhile and is deleted.
    bring(services, key_id, a)
    assert state(services, key_id) is KeyState.PENDING_IMPORT
    _, page = services.keys.list_key_rotations(CALLER, key_id, True, None, None)
    assert [m.imported for m in page.items] == [True, False]  # type: ignore[union-attr]
    bring(services, key_id, b)
    assert state(services, key_id) is KeyState.ENABLED
    assert services.crypto.decrypt(CALLER, old).plaintext == b"under a"
    assert services.crypto.decrypt(CALLER, new).plaintext == b"under b"


def test_material_deleted_before_schema_7_comes_back(node: tuple[Services, ManualClock]) -> None:
    services, _ = node
    key_id = services.keys.create_key(CALLER, origin="EXTERNAL").key_id
    material = os.urandom(32)
    found = bring(services, key_id, material)
    blob = services.crypto.encrypt(CALLER, key_id, b"kept").blob
    # What schema 4's DeleteImportedKeyMaterial left: no version, no current material id.
    with services.storage.write() as tx:
        key = tx.lock_key(key_id)
        assert key is not None
        tx.delete_versions(key_id)
        tx.update_key(key.evolve(state=KeyState.PENDING_IMPORT, current_version_id=b""))
    services.keys.describe_key(CALLER, key_id)
    services.imports.delete_imported_key_material(CALLER, key_id)  # still fine: nothing to do
    assert bring(services, key_id, material) == found
    key = services.keys.describe_key(CALLER, key_id)
    assert (key.state, key.current_version_id) == (KeyState.ENABLED, found)
    assert services.crypto.decrypt(CALLER, blob).plaintext == b"kept"
    services.crypto.encrypt(CALLER, key_id, b"new")
