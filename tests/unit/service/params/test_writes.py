"""Parameter Store use cases on a real service graph (SQLite): quotas with small limits
injected (ParameterLimitExceeded, Intelligent-Tiering's move to Advanced), and the one place
every change goes through, inside its transaction (where notifications will be recorded)."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from cofre.config import Settings
from cofre.container import Services
from cofre.core.iam.principals import Caller
from cofre.core.params.parameters import ParamChange, ParameterType, ParamId, Tier, TierLimits
from cofre.errors import AlreadyExistsError, ParameterLimitExceededError
from cofre.service.params.labels import ParamLabels
from cofre.service.params.secure import SecureStrings
from cofre.service.params.writes import ParamService, PutRequest
from cofre.service.ports import WriteTx

ACCOUNT = "111122223333"
CALLER = Caller(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root", "AKIACOFRETESTADMIN01", "us-east-1")
LIMITS = {
    Tier.STANDARD: TierLimits(4096, 3, policies=False),
    Tier.ADVANCED: TierLimits(8192, 2, policies=True),
}


class Recorder:
    """A change sink that keeps what it is told, and can refuse (to prove it runs inside
    the writing transaction)."""

    def __init__(self) -> None:
        self.changes: list[ParamChange] = []
        self.fail = False

    def parameter_changed(self, tx: WriteTx, change: ParamChange) -> None:
        assert tx.get_param_head(change.id) is not None or change.operation == "Delete"
        if self.fail:
            raise RuntimeError("outbox unavailable")
        self.changes.append(change)


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    root_key = base64.b64encode(os.urandom(32)).decode()
    built = Services.build(Settings(data_dir=tmp_path / "data", root_key_b64=root_key))
    built.accounts.ensure_account(ACCOUNT, "default")
    try:
        yield built
    finally:
        built.close()


def service(services: Services, **extra: object) -> ParamService:
    secure = SecureStrings(services.crypto, services.resolver, os.urandom)
    return ParamService(services.storage, services.authorizer, services.clock, secure, **extra)  # type: ignore[arg-type]


@pytest.fixture
def params(services: Services) -> ParamService:
    return service(services, limits=LIMITS)


def put(params: ParamService, name: str, **extra: object) -> tuple[int, Tier]:
    request = PutRequest(name=name, value="v", type=ParameterType.STRING, **extra)  # type: ignore[arg-type]
    return params.put_parameter(CALLER, request)


def test_quotas_per_tier(params: ParamService) -> None:
    for i in range(3):
        assert put(params, f"/s{i}") == (1, Tier.STANDARD)
    with pytest.raises(ParameterLimitExceededError, match="exceeded the number of parameters"):
        put(params, "/s3")
    # Updating an existing Standard parameter is not a new one.
    assert put(params, "/s0", overwrite=True) == (2, Tier.STANDARD)
    # Intelligent-Tiering goes to Advanced once Standard is full, until Advanced is full too.
    assert put(params, "/i0", tier=Tier.INTELLIGENT_TIERING) == (1, Tier.ADVANCED)
    assert put(params, "/a0", tier=Tier.ADVANCED) == (1, Tier.ADVANCED)
    with pytest.raises(ParameterLimitExceededError):
        put(params, "/i1", tier=Tier.INTELLIGENT_TIERING)
    # Moving a parameter up to Advanced counts against the Advanced quota.
    with pytest.raises(ParameterLimitExceededError):
        put(params, "/s1", overwrite=True, tier=Tier.ADVANCED)
    params.delete_parameter(CALLER, "/a0")
    assert put(params, "/s1", overwrite=True, tier=Tier.ADVANCED) == (2, Tier.ADVANCED)
    assert put(params, "/s3") == (1, Tier.STANDARD)  # room again in Standard


def test_every_change_goes_through_the_sink_in_its_transaction(services: Services) -> None:
    recorder = Recorder()
    params = service(services, changes=recorder)
    labels = ParamLabels(services.storage, services.authorizer, services.clock, recorder)
    put(params, "/app/a", description="first")
    put(params, "/app/a", overwrite=True)
    labels.label_parameter_version(CALLER, "/app/a", 1, ["blue", "9bad"])
    labels.label_parameter_version(CALLER, "/app/a", 1, ["blue"])  # already there: no change
    labels.unlabel_parameter_version(CALLER, "/app/a", 1, ["blue", "nope"])
    put(params, "/app/b")
    params.delete_parameters(CALLER, ["/app/b", "/app/none"])
    params.delete_parameter(CALLER, "/app/a")
    assert [(c.operation.value, c.id.name, c.version, c.labels) for c in recorder.changes] == [
        ("Create", "/app/a", 1, ()),
        ("Update", "/app/a", 2, ()),
        ("LabelParameterVersion", "/app/a", 1, ("blue",)),
        ("UnlabelParameterVersion", "/app/a", 1, ("blue",)),
        ("Create", "/app/b", 1, ()),
        ("Delete", "/app/b", 1, ()),
        ("Delete", "/app/a", 2, ()),
    ]
    assert recorder.changes[0].description == "first"
    # A change the sink cannot record is not made.
    recorder.fail = True
    with pytest.raises(RuntimeError):
        put(params, "/app/c")
    with services.storage.read() as tx:
        assert tx.get_param_head(ParamId(ACCOUNT, "us-east-1", "/app/c")) is None


def test_a_lost_race_to_create_the_managed_key_is_not_an_error(services: Services) -> None:
    """Two first uses of alias/aws/ssm on PostgreSQL: the loser's alias insert fails with
    AlreadyExistsError (nothing could be locked before the alias existed); the key is there,
    so preparing succeeds and the write goes on."""

    class RacingResolver:
        cache = services.resolver.cache

        def ensure_alias(self, caller: Caller, text: str) -> None:
            services.resolver.ensure_alias(caller, text)  # the winner's creation
            raise AlreadyExistsError("An alias with the name alias/aws/ssm already exists")

    secure = SecureStrings(services.crypto, RacingResolver(), os.urandom)  # type: ignore[arg-type]
    assert secure.missing_managed_key(CALLER, "alias/aws/ssm")
    secure.prepare(CALLER, "alias/aws/ssm")
    assert not secure.missing_managed_key(CALLER, "alias/aws/ssm")
    params = ParamService(services.storage, services.authorizer, services.clock, secure)
    request = PutRequest(name="/s", value="v", type=ParameterType.SECURE_STRING)
    assert params.put_parameter(CALLER, request) == (1, Tier.STANDARD)
