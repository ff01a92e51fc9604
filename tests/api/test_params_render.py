"""``cofre params render``: CloudFormation dynamic references resolved against a real server.

The command is a client, run as a subprocess with the usual AWS environment; SQLite only
(nothing of it is server-side)."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cofre.cli.params.render import Resolver
from cofre.core.params.template import parse_template
from tests.support.iam import Principal, allow, make_user
from tests.support.server import (
    ACCESS_KEY_ID,
    ACCOUNT_ID,
    COFRE,
    REGION,
    SECRET_ACCESS_KEY,
    CofreServer,
)
from tests.support.ssm import unique_path

PREFIX = f"arn:aws:ssm:{REGION}:{ACCOUNT_ID}:parameter"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CofreServer]:
    srv = CofreServer(tmp_path_factory.mktemp("cofre-render") / "data").start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def ssm(server: CofreServer) -> Any:
    return server.client("ssm")


def environment(server: CofreServer, principal: Principal | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=principal.access_key_id if principal else ACCESS_KEY_ID,
        AWS_SECRET_ACCESS_KEY=principal.secret_access_key if principal else SECRET_ACCESS_KEY,
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
        AWS_MAX_ATTEMPTS="1",
        AWS_ENDPOINT_URL_SSM=server.url,
    )
    return env


def render(
    server: CofreServer,
    template: Path | str,
    *args: str,
    principal: Principal | None = None,
    env: dict[str, str] | None = None,
    input: bytes | None = None,
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [COFRE, "params", "render", str(template), *args], input=input,
        env={**environment(server, principal), **(env or {})},
        capture_output=True, timeout=120, check=False,
    )  # fmt: skip


def write(tmp_path: Path, text: str, name: str = "template.txt") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode())
    return path


def test_strings_string_lists_and_paths_keep_everything_else(
    server: CofreServer, ssm: Any, tmp_path: Path
) -> None:
    base = unique_path("/render")
    flat = f"flat{base.rsplit('/', 1)[1]}"
    ssm.put_parameter(Name=f"{base}/db/host", Value="db.internal", Type="String")
    ssm.put_parameter(Name=f"{base}/hosts", Value="a,b,c", Type="StringList")
    ssm.put_parameter(Name=flat, Value="flat value ✓", Type="String")
    text = (
        "\ufeff# café: {{ not a reference }} {resolve:ssm:x} ${HOME}\r\n"
        f"host: {{{{resolve:ssm:{base}/db/host}}}}\r\n"
        f"hosts=[{{{{resolve:ssm:{base}/hosts}}}}] flat={{{{resolve:ssm:{flat}}}}}"
        f" again={{{{resolve:ssm:/{flat}}}}}\tend"
    )
    template = write(tmp_path, text)
    result = render(server, template)
    assert result.returncode == 0, result.stderr
    expected = (
        "\ufeff# café: {{ not a reference }} {resolve:ssm:x} ${HOME}\r\n"
        "host: db.internal\r\nhosts=[a,b,c] flat=flat value ✓ again=flat value ✓\tend"
    )
    assert result.stdout == expected.encode()
    assert result.stderr == b""

    # stdin in, --endpoint-url instead of the environment
    piped = render(server, "-", "--endpoint-url", server.url, input=text.encode(),
                   env={"AWS_ENDPOINT_URL_SSM": ""})  # fmt: skip
    assert (piped.returncode, piped.stdout) == (0, expected.encode()), piped.stderr
    # a template without references needs no server at all
    plain = write(tmp_path, "no references: {{resolve}} \u00e9\n", "plain.txt")
    offline = render(server, plain, env={"AWS_ENDPOINT_URL_SSM": "http://127.0.0.1:9"})
    assert (offline.returncode, offline.stdout) == (0, plain.read_bytes())


def test_versions_and_labels(server: CofreServer, ssm: Any, tmp_path: Path) -> None:
    name = unique_path("/render") + "/v"
    for value in ("one", "two", "three"):
        ssm.put_parameter(Name=name, Value=value, Type="String", Overwrite=True)
    ssm.label_parameter_version(Name=name, ParameterVersion=1, Labels=["prod"])
    template = write(
        tmp_path,
        f"{{{{resolve:ssm:{name}:1}}}} {{{{resolve:ssm:{name}:3}}}} {{{{resolve:ssm:{name}}}}}"
        f" {{{{resolve:ssm:{name}:2}}}}\n",
    )
    result = render(server, template)
    assert (result.returncode, result.stdout) == (0, b"one three three two\n"), result.stderr

    # Labels are not part of CloudFormation's syntax, even for a label that exists.
    labelled = write(tmp_path, f"x\n  {{{{resolve:ssm:{name}:prod}}}}\n", "labelled.txt")
    result = render(server, labelled)
    assert result.returncode != 0 and result.stdout == b""
    assert b"line 2, column 3: the version must be a number (labels are not supported):" in (
        result.stderr
    )

    missing = write(tmp_path, f"{{{{resolve:ssm:{name}:9}}}}\n", "missing-version.txt")
    result = render(server, missing)
    assert result.returncode != 0 and result.stdout == b""
    assert f"line 1: ssm parameter {name} version 9 not found".encode() in result.stderr


def test_secure_strings_need_ssm_secure(server: CofreServer, ssm: Any, tmp_path: Path) -> None:
    base = unique_path("/render")
    ssm.put_parameter(Name=f"{base}/pw", Value="hunter2-v1", Type="SecureString")
    ssm.put_parameter(Name=f"{base}/pw", Value="hunter2-v2", Type="SecureString", Overwrite=True)
    ssm.put_parameter(Name=f"{base}/user", Value="admin", Type="String")
    template = write(
        tmp_path,
        f"user={{{{resolve:ssm:{base}/user}}}} pw={{{{resolve:ssm-secure:{base}/pw}}}}"
        f" old={{{{resolve:ssm-secure:{base}/pw:1}}}}\n",
    )
    result = render(server, template)
    assert (result.returncode, result.stdout) == (
        0,
        b"user=admin pw=hunter2-v2 old=hunter2-v1\n",
    ), result.stderr

    # ssm refuses a SecureString (as CloudFormation does); ssm-secure refuses a String.
    wrong = write(
        tmp_path,
        f"a={{{{resolve:ssm:{base}/pw}}}}\nb={{{{resolve:ssm-secure:{base}/user}}}}\n",
        "wrong.txt",
    )
    result = render(server, wrong)
    assert result.returncode != 0 and result.stdout == b""
    err = result.stderr.decode()
    assert f"line 1: ssm parameter {base}/pw is a SecureString" in err
    assert f"use {{{{resolve:ssm-secure:{base}/pw}}}}" in err
    assert f"line 2: ssm-secure parameter {base}/user is a String, not a SecureString" in err
    assert "2 references could not be resolved" in err
    assert "hunter2" not in err and "admin" not in err


def test_missing_parameters_fail_and_write_nothing(
    server: CofreServer, ssm: Any, tmp_path: Path
) -> None:
    base = unique_path("/render")
    ssm.put_parameter(Name=f"{base}/there", Value="present-value", Type="String")
    ssm.put_parameter(Name=f"{base}/secret", Value="s3cr3t-value", Type="SecureString")
    template = write(
        tmp_path,
        f"{{{{resolve:ssm:{base}/there}}}}\n{{{{resolve:ssm:{base}/gone}}}}\n"
        f"{{{{resolve:ssm-secure:{base}/secret}}}} {{{{resolve:ssm-secure:{base}/nope}}}}\n"
        f"{{{{resolve:ssm:{base}/gone}}}}\n",
    )
    output = tmp_path / "out.txt"
    output.write_text("previous")
    result = render(server, template, "--output", str(output))
    assert result.returncode == 1 and result.stdout == b""
    err = result.stderr.decode()
    assert f"lines 2, 4: ssm parameter {base}/gone not found" in err
    assert f"line 3: ssm-secure parameter {base}/nope not found" in err
    assert "present-value" not in err and "s3cr3t" not in err
    assert output.read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt", "template.txt"]


def test_denied_reads_name_the_parameter(
    server: CofreServer, ssm: Any, kms: Any, tmp_path: Path
) -> None:
    base = unique_path("/render")
    key = kms.create_key(Description="render")["KeyMetadata"]["Arn"]
    ssm.put_parameter(Name=f"{base}/app/a", Value="value-a", Type="String")
    ssm.put_parameter(Name=f"{base}/other/b", Value="value-b", Type="String")
    ssm.put_parameter(Name=f"{base}/app/key", Value="kms-secret", Type="SecureString", KeyId=key)
    user = make_user(server, allow("ssm:GetParameters", f"{PREFIX}{base}/app/*"))
    template = write(
        tmp_path, f"{{{{resolve:ssm:{base}/app/a}}}}\n{{{{resolve:ssm:{base}/other/b}}}}\n"
    )
    result = render(server, template, principal=user)
    assert result.returncode != 0 and result.stdout == b""
    err = result.stderr.decode()
    assert f"line 2: ssm parameter {base}/other/b: access denied: User: {user.arn}" in err
    assert "value-" not in err
    assert f"{base}/app/a" not in err  # the allowed one is not blamed

    # The caller may read the parameter but not decrypt it with the customer key.
    secure = write(tmp_path, f"{{{{resolve:ssm-secure:{base}/app/key}}}}\n", "secure.txt")
    result = render(server, secure, principal=user)
    assert result.returncode != 0 and result.stdout == b""
    err = result.stderr.decode()
    assert f"line 1: ssm-secure parameter {base}/app/key: access denied:" in err
    assert "kms:Decrypt" in err and "kms-secret" not in err
    # The administrator renders both.
    assert render(server, template).stdout == b"value-a\nvalue-b\n"
    assert render(server, secure).stdout == b"kms-secret\n"


def test_malformed_references_and_encodings(server: CofreServer, tmp_path: Path) -> None:
    template = write(tmp_path, "a: 1\nb: 2\nc:  {{resolve:ssm:}}\n")
    # No request is made: an unreachable endpoint does not matter.
    result = render(server, template, env={"AWS_ENDPOINT_URL_SSM": "http://127.0.0.1:9"})
    assert result.returncode != 0 and result.stdout == b""
    assert result.stderr.decode().strip() == (
        f"Error: {template}: line 3, column 5: no parameter name: {{{{resolve:ssm:}}}}"
    )
    for bad, problem in [
        ("{{resolve:ssm:/a b}}", "the parameter name may hold only"),
        ("{{resolve:secretsmanager:x}}", "unsupported service 'secretsmanager'"),
        ("{{resolve:ssm:/a", "unterminated reference"),
    ]:
        result = render(server, write(tmp_path, f"\n{bad}\n", "bad.txt"))
        assert result.returncode != 0
        assert f"line 2, column 1: {problem}".encode() in result.stderr

    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("ok\ncaf\u00e9 {{resolve:ssm:x}}\n".encode("latin-1"))
    result = render(server, latin1)
    assert result.returncode != 0 and result.stdout == b""
    assert b"not UTF-8 text (invalid byte at line 2)" in result.stderr
    result = render(server, tmp_path / "absent.txt")
    assert result.returncode != 0 and b"absent.txt" in result.stderr


def test_many_references_are_batched(server: CofreServer, ssm: Any, tmp_path: Path) -> None:
    base = unique_path("/render")
    for i in range(23):
        ssm.put_parameter(Name=f"{base}/p{i:02d}", Value=f"v{i}", Type="String")
    for i in range(12):
        ssm.put_parameter(Name=f"{base}/s{i:02d}", Value=f"secret{i}", Type="SecureString")
    lines = [f"{{{{resolve:ssm:{base}/p{i:02d}}}}}" for i in range(23)]
    lines += [f"{{{{resolve:ssm-secure:{base}/s{i:02d}}}}}" for i in range(12)]
    lines += lines[:5]  # duplicates are looked up once
    text = "\n".join(lines) + "\n"
    expected = "\n".join([f"v{i}" for i in range(23)] + [f"secret{i}" for i in range(12)])
    expected += "\n" + "\n".join(f"v{i}" for i in range(5)) + "\n"
    result = render(server, write(tmp_path, text))
    assert (result.returncode, result.stdout.decode()) == (0, expected), result.stderr

    # In process, counting the calls: 23 plain names in 3 calls, 12 secure ones in 2.
    calls: list[tuple[int, bool]] = []

    class Counting:
        def get_parameters(self, **request: Any) -> Any:
            calls.append((len(request["Names"]), request["WithDecryption"]))
            return ssm.get_parameters(**request)

    values = Resolver(Counting(), parse_template(text)).resolve()
    assert len(values) == 35
    assert calls == [(10, False), (10, False), (3, False), (10, True), (2, True)]


def test_output_file_is_private_and_replaced_atomically(
    server: CofreServer, ssm: Any, tmp_path: Path
) -> None:
    name = unique_path("/render") + "/token"
    ssm.put_parameter(Name=name, Value="tok-123", Type="SecureString")
    template = write(tmp_path, f"TOKEN={{{{resolve:ssm-secure:{name}}}}}\n")
    output = tmp_path / "out" / "app.env"
    output.parent.mkdir()
    output.write_text("old")
    output.chmod(0o644)
    result = render(server, template, "-o", str(output))
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
    assert output.read_bytes() == b"TOKEN=tok-123\n"
    assert stat.S_IMODE(output.stat().st_mode) == 0o600
    assert [p.name for p in output.parent.iterdir()] == ["app.env"]  # no temporary left

    fresh = tmp_path / "out" / "new.env"
    result = render(server, template, "--output", str(fresh))
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600
    result = render(server, template, "--output", str(tmp_path / "no-such-dir" / "x"))
    assert result.returncode != 0 and b"cannot write" in result.stderr
    assert b"tok-123" not in result.stderr
