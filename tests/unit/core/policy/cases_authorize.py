"""KMS authorization cases, as data, from the AWS KMS Developer Guide ("Key policies",
"Default key policy", "Allowing users in other accounts to use a KMS key", "Grants")
and the IAM User Guide ("Policy evaluation logic", "Cross-account policy evaluation
logic", "Policy elements"). Each row: id, key policy (None = AWS's default key policy
for account A), identity policies of the caller, request overrides, grants, and the
expected ``Reason`` value.
"""

from __future__ import annotations

from typing import Any

A = "111122223333"  # the key's account
B = "444455556666"  # another account
ROOT_A = f"arn:aws:iam::{A}:root"
ROOT_B = f"arn:aws:iam::{B}:root"
ALICE = f"arn:aws:iam::{A}:user/alice"
BOB = f"arn:aws:iam::{A}:user/bob"
CAROL_B = f"arn:aws:iam::{B}:user/carol"
ROLE = f"arn:aws:iam::{A}:role/app"
SESSION = f"arn:aws:sts::{A}:assumed-role/app/s1"
KEY = f"arn:aws:kms:eu-west-1:{A}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
OTHER_KEY = f"arn:aws:kms:eu-west-1:{A}:key/00000000-0000-0000-0000-000000000000"

ALLOW = {"key": "key-policy", "iam": "iam-delegation", "grant": "grant"}
DENY_KP = "explicit-deny-key-policy"
DENY_ID = "explicit-deny-identity-policy"
NO_KP = "no-key-policy-allow"
NO_ID = "no-identity-policy-allow"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _clean(statement: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in statement.items() if v is not None}


def allow(
    principal: Any, action: Any = "kms:*", resource: Any = "*", **extra: Any
) -> dict[str, Any]:
    return _clean(
        {"Effect": "Allow", "Principal": principal, "Action": action, "Resource": resource, **extra}
    )


def deny(
    principal: Any, action: Any = "kms:*", resource: Any = "*", **extra: Any
) -> dict[str, Any]:
    return _clean(
        {"Effect": "Deny", "Principal": principal, "Action": action, "Resource": resource, **extra}
    )


def iam(
    effect: str = "Allow", action: Any = "kms:*", resource: Any = "*", **extra: Any
) -> dict[str, Any]:
    return doc(_clean({"Effect": effect, "Action": action, "Resource": resource, **extra}))


ROOT_DELEGATION = allow({"AWS": ROOT_A})
USE_EC = {"StringEquals": {"kms:EncryptionContext:app": "billing"}}

# (id, key policy, identity policies, request overrides, grants, expected reason)
AUTH_CASES: list[
    tuple[
        str, dict[str, Any] | None, list[dict[str, Any]], dict[str, Any], list[dict[str, Any]], str
    ]
] = [
    # --- the default key policy: delegation to IAM --------------------------------------
    ("default policy, root caller", None, [], {"principal": ROOT_A}, [], ALLOW["key"]),
    ("default policy, user with IAM allow", None, [iam()], {}, [], ALLOW["iam"]),
    ("default policy, user without IAM policy", None, [], {}, [], NO_ID),
    ("default policy, IAM allows other action", None, [iam(action="kms:Decrypt")], {}, [], NO_ID),
    (
        "default policy, IAM allows wildcard action",
        None,
        [iam(action="kms:Encr*")],
        {},
        [],
        ALLOW["iam"],
    ),
    ("default policy, IAM allows other key", None, [iam(resource=OTHER_KEY)], {}, [], NO_ID),
    ("default policy, IAM allows this key by ARN", None, [iam(resource=KEY)], {}, [], ALLOW["iam"]),
    (
        "default policy, IAM allows key wildcard",
        None,
        [iam(resource=f"arn:aws:kms:*:{A}:key/*")],
        {},
        [],
        ALLOW["iam"],
    ),
    ("default policy, IAM deny wins", None, [iam(), iam("Deny", "kms:Encrypt")], {}, [], DENY_ID),
    (
        "default policy, IAM deny other action",
        None,
        [iam(), iam("Deny", "kms:Decrypt")],
        {},
        [],
        ALLOW["iam"],
    ),
    (
        "default policy, IAM NotAction allow",
        None,
        [iam(action=None, NotAction="kms:Decrypt")],
        {},
        [],
        ALLOW["iam"],
    ),
    (
        "default policy, IAM NotAction excludes",
        None,
        [iam(action=None, NotAction="kms:Encrypt")],
        {},
        [],
        NO_ID,
    ),
    (
        "default policy, IAM NotResource other key",
        None,
        [iam(resource=None, NotResource=OTHER_KEY)],
        {},
        [],
        ALLOW["iam"],
    ),
    (
        "default policy, IAM NotResource this key",
        None,
        [iam(resource=None, NotResource=KEY)],
        {},
        [],
        NO_ID,
    ),
    (
        "default policy, IAM deny with NotAction",
        None,
        [iam(), iam("Deny", action=None, NotAction=["kms:Decrypt", "kms:Describe*"])],
        {},
        [],
        DENY_ID,
    ),
    (
        "default policy, IAM EC condition met",
        None,
        [iam(Condition=USE_EC)],
        {"context": {"app": "billing"}},
        [],
        ALLOW["iam"],
    ),
    (
        "default policy, IAM EC condition unmet",
        None,
        [iam(Condition=USE_EC)],
        {"context": {"app": "hr"}},
        [],
        NO_ID,
    ),
    ("default policy, IAM EC condition no context", None, [iam(Condition=USE_EC)], {}, [], NO_ID),
    (
        "root of account is not restricted by IAM",
        None,
        [],
        {"principal": ROOT_A, "action": "kms:ScheduleKeyDeletion"},
        [],
        ALLOW["key"],
    ),
    (
        "bare account id delegates like root ARN",
        doc(allow({"AWS": A})),
        [iam()],
        {},
        [],
        ALLOW["iam"],
    ),
    ("bare account id, no IAM", doc(allow({"AWS": A})), [], {}, [], NO_ID),
    # --- key policy names the user ------------------------------------------------------
    ("key policy allows user directly", doc(allow({"AWS": ALICE})), [], {}, [], ALLOW["key"]),
    (
        "key policy allows user, list form",
        doc(allow({"AWS": [BOB, ALICE]})),
        [],
        {},
        [],
        ALLOW["key"],
    ),
    ("key policy allows other user", doc(allow({"AWS": BOB})), [iam()], {}, [], NO_KP),
    ("IAM allow without key policy delegation", doc(allow({"AWS": BOB})), [iam()], {}, [], NO_KP),
    (
        "key policy direct allow, IAM deny",
        doc(allow({"AWS": ALICE})),
        [iam("Deny")],
        {},
        [],
        DENY_ID,
    ),
    (
        "key policy allow, key policy deny",
        doc(allow({"AWS": ALICE}), deny({"AWS": ALICE}, "kms:Encrypt")),
        [],
        {},
        [],
        DENY_KP,
    ),
    (
        "key policy deny other action",
        doc(allow({"AWS": ALICE}), deny({"AWS": ALICE}, "kms:Decrypt")),
        [],
        {},
        [],
        ALLOW["key"],
    ),
    (
        "deny naming the account covers its users",
        doc(ROOT_DELEGATION, deny({"AWS": ROOT_A}, "kms:Encrypt")),
        [iam()],
        {},
        [],
        DENY_KP,
    ),
    ("Principal * allows everyone", doc(allow("*")), [], {}, [], ALLOW["key"]),
    ("Principal AWS * allows everyone", doc(allow({"AWS": "*"})), [], {}, [], ALLOW["key"]),
    (
        "Principal * with CallerAccount condition",
        doc(allow("*", Condition={"StringEquals": {"kms:CallerAccount": A}})),
        [],
        {},
        [],
        ALLOW["key"],
    ),
    (
        "Principal * with other CallerAccount",
        doc(allow("*", Condition={"StringEquals": {"kms:CallerAccount": B}})),
        [],
        {},
        [],
        NO_KP,
    ),
    (
        "key policy action list",
        doc(allow({"AWS": ALICE}, ["kms:Decrypt", "kms:Encrypt"])),
        [],
        {},
        [],
        ALLOW["key"],
    ),
    (
        "key policy action wildcard ?",
        doc(allow({"AWS": ALICE}, "kms:?ncrypt")),
        [],
        {},
        [],
        ALLOW["key"],
    ),
    (
        "key policy action case-insensitive",
        doc(allow({"AWS": ALICE}, "KMS:encrypt")),
        [],
        {},
        [],
        ALLOW["key"],
    ),
    ("key policy action other service", doc(allow({"AWS": ALICE}, "s3:*")), [], {}, [], NO_KP),
    ("key policy Action *", doc(allow({"AWS": ALICE}, "*")), [], {}, [], ALLOW["key"]),
    (
        "key policy NotAction",
        doc(allow({"AWS": ALICE}, None, NotAction="kms:Decrypt")),
        [],
        {},
        [],
        ALLOW["key"],
    ),
    (
        "key policy NotAction excludes",
        doc(allow({"AWS": ALICE}, None, NotAction="kms:Enc*")),
        [],
        {},
        [],
        NO_KP,
    ),
    (
        "key policy Resource key ARN",
        doc(allow({"AWS": ALICE}, resource=KEY)),
        [],
        {},
        [],
        ALLOW["key"],
    ),
    (
        "key policy Resource other key",
        doc(allow({"AWS": ALICE}, resource=OTHER_KEY)),
        [],
        {},
        [],
        NO_KP,
    ),
    (
        "key policy NotResource",
        doc(allow({"AWS": ALICE}, resource=None, NotResource=OTHER_KEY)),
        [],
        {},
        [],
        ALLOW["key"],
    ),
    (
        "key policy Resource is case-sensitive",
        doc(allow({"AWS": ALICE}, resource=KEY.replace("abcd", "ABCD"))),
        [],
        {},
        [],
        NO_KP,
    ),
    ("user ARN in key policy is not the role", doc(allow({"AWS": ROLE})), [], {}, [], NO_KP),
    (
        "role named, assumed-role session calls",
        doc(allow({"AWS": ROLE})),
        [],
        {"principal": SESSION, "role": ROLE, "username": None},
        [],
        ALLOW["key"],
    ),
    (
        "service principal",
        doc(allow({"Service": "logs.amazonaws.com"})),
        [],
        {"principal": "logs.amazonaws.com"},
        [],
        ALLOW["key"],
    ),
    (
        "service principal, user caller",
        doc(allow({"Service": "logs.amazonaws.com"})),
        [],
        {},
        [],
        NO_KP,
    ),
    (
        "key policy EC condition met",
        doc(allow({"AWS": ALICE}, Condition=USE_EC)),
        [],
        {"context": {"app": "billing"}},
        [],
        ALLOW["key"],
    ),
    (
        "key policy EC condition unmet",
        doc(allow({"AWS": ALICE}, Condition=USE_EC)),
        [],
        {"context": {"app": "hr"}},
        [],
        NO_KP,
    ),
    (
        "key policy deny unless TLS",
        doc(allow({"AWS": ALICE}), deny("*", Condition={"Bool": {"aws:SecureTransport": "false"}})),
        [],
        {"secure": False},
        [],
        DENY_KP,
    ),
    (
        "key policy deny unless TLS, TLS used",
        doc(allow({"AWS": ALICE}), deny("*", Condition={"Bool": {"aws:SecureTransport": "false"}})),
        [],
        {"secure": True},
        [],
        ALLOW["key"],
    ),
    (
        "key policy deny outside network",
        doc(
            allow({"AWS": ALICE}),
            deny("*", Condition={"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
        ),
        [],
        {"ip": "198.51.100.1"},
        [],
        DENY_KP,
    ),
    (
        "key policy deny outside network, inside",
        doc(
            allow({"AWS": ALICE}),
            deny("*", Condition={"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
        ),
        [],
        {"ip": "10.9.9.9"},
        [],
        ALLOW["key"],
    ),
    (
        "key policy time window open",
        doc(
            allow(
                {"AWS": ALICE},
                Condition={
                    "DateGreaterThan": {"aws:CurrentTime": "2024-01-01T00:00:00Z"},
                    "DateLessThan": {"aws:CurrentTime": "2025-01-01T00:00:00Z"},
                },
            )
        ),
        [],
        {},
        [],
        ALLOW["key"],
    ),
    (
        "key policy time window closed",
        doc(
            allow(
                {"AWS": ALICE},
                Condition={"DateGreaterThan": {"aws:CurrentTime": "2025-01-01T00:00:00Z"}},
            )
        ),
        [],
        {},
        [],
        NO_KP,
    ),
    (
        "key policy ViaService",
        doc(
            allow(
                {"AWS": ALICE},
                Condition={"StringEquals": {"kms:ViaService": "ssm.eu-west-1.amazonaws.com"}},
            )
        ),
        [],
        {"keys": {"kms:ViaService": "ssm.eu-west-1.amazonaws.com"}},
        [],
        ALLOW["key"],
    ),
    (
        "key policy ViaService direct call",
        doc(
            allow(
                {"AWS": ALICE},
                Condition={"StringEquals": {"kms:ViaService": "ssm.eu-west-1.amazonaws.com"}},
            )
        ),
        [],
        {},
        [],
        NO_KP,
    ),
    (
        "key policy RequestAlias",
        doc(allow({"AWS": ALICE}, Condition={"StringEquals": {"kms:RequestAlias": "alias/app"}})),
        [],
        {"keys": {"kms:RequestAlias": "alias/app"}},
        [],
        ALLOW["key"],
    ),
    (
        "key policy deny via PrincipalArn ArnNotLike",
        doc(
            ROOT_DELEGATION,
            deny(
                "*",
                "kms:Decrypt",
                Condition={"ArnNotLike": {"aws:PrincipalArn": f"arn:aws:iam::{A}:role/*"}},
            ),
        ),
        [iam()],
        {"action": "kms:Decrypt"},
        [],
        DENY_KP,
    ),
    (
        "key policy deny via PrincipalArn, role exempt",
        doc(
            ROOT_DELEGATION,
            deny(
                "*",
                "kms:Decrypt",
                Condition={"ArnNotLike": {"aws:PrincipalArn": f"arn:aws:iam::{A}:role/*"}},
            ),
        ),
        [iam()],
        {"action": "kms:Decrypt", "principal": ROLE},
        [],
        ALLOW["iam"],
    ),
    # --- NotPrincipal (Deny only) --------------------------------------------------------
    (
        "NotPrincipal deny, caller not listed",
        doc(allow("*"), deny(None, NotPrincipal={"AWS": [ROOT_A, BOB]})),
        [],
        {},
        [],
        DENY_KP,
    ),
    (
        "NotPrincipal deny, caller listed with account",
        doc(allow("*"), deny(None, NotPrincipal={"AWS": [ROOT_A, ALICE]})),
        [],
        {},
        [],
        ALLOW["key"],
    ),
    (
        "NotPrincipal deny, caller listed without account",
        doc(allow("*"), deny(None, NotPrincipal={"AWS": [ALICE]})),
        [],
        {},
        [],
        DENY_KP,
    ),
    (
        "NotPrincipal deny, root exempt by account",
        doc(allow("*"), deny(None, NotPrincipal={"AWS": ROOT_A})),
        [],
        {"principal": ROOT_A},
        [],
        ALLOW["key"],
    ),
    (
        "NotPrincipal deny, other account caller",
        doc(allow("*"), deny(None, NotPrincipal={"AWS": [ROOT_A, ALICE]})),
        [iam()],
        {"principal": CAROL_B, "account": B},
        [],
        DENY_KP,
    ),
    # --- policy variables in Resource ------------------------------------------------------
    (
        "IAM Resource with ${aws:username}",
        None,
        [iam(resource=f"arn:aws:kms:eu-west-1:{A}:key/${{aws:username}}")],
        {"resource": f"arn:aws:kms:eu-west-1:{A}:key/alice"},
        [],
        ALLOW["iam"],
    ),
    (
        "IAM Resource with ${aws:username}, other user's",
        None,
        [iam(resource=f"arn:aws:kms:eu-west-1:{A}:key/${{aws:username}}")],
        {"resource": f"arn:aws:kms:eu-west-1:{A}:key/bob"},
        [],
        NO_ID,
    ),
    (
        "IAM Resource with ${aws:PrincipalAccount}",
        None,
        [iam(resource="arn:aws:kms:*:${aws:PrincipalAccount}:key/*")],
        {},
        [],
        ALLOW["iam"],
    ),
    (
        "2008 policy: no variables, literal",
        None,
        [
            {
                "Version": "2008-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "kms:*",
                        "Resource": "arn:aws:kms:*:${aws:PrincipalAccount}:key/*",
                    }
                ],
            }
        ],
        {},
        [],
        NO_ID,
    ),
    (
        "variable unresolved: no username for role",
        None,
        [iam(resource=f"arn:aws:kms:eu-west-1:{A}:key/${{aws:username}}")],
        {"principal": ROLE, "username": None},
        [],
        NO_ID,
    ),
    # --- cross-account -------------------------------------------------------------------
    (
        "cross: key policy names account B, B's IAM allows",
        doc(ROOT_DELEGATION, allow({"AWS": ROOT_B}, "kms:Encrypt")),
        [iam(resource=KEY)],
        {"principal": CAROL_B, "account": B},
        [],
        ALLOW["iam"],
    ),
    (
        "cross: key policy names account B, no IAM",
        doc(ROOT_DELEGATION, allow({"AWS": ROOT_B}, "kms:Encrypt")),
        [],
        {"principal": CAROL_B, "account": B},
        [],
        NO_ID,
    ),
    (
        "cross: key policy names carol, IAM allows",
        doc(ROOT_DELEGATION, allow({"AWS": CAROL_B})),
        [iam()],
        {"principal": CAROL_B, "account": B},
        [],
        ALLOW["key"],
    ),
    (
        "cross: key policy names carol, no IAM",
        doc(ROOT_DELEGATION, allow({"AWS": CAROL_B})),
        [],
        {"principal": CAROL_B, "account": B},
        [],
        NO_ID,
    ),
    (
        "cross: key policy silent, IAM allows",
        None,
        [iam()],
        {"principal": CAROL_B, "account": B},
        [],
        NO_KP,
    ),
    (
        "cross: B's IAM denies",
        doc(allow({"AWS": CAROL_B})),
        [iam(), iam("Deny")],
        {"principal": CAROL_B, "account": B},
        [],
        DENY_ID,
    ),
    (
        "cross: key policy denies B",
        doc(allow({"AWS": ROOT_B}), deny({"AWS": ROOT_B}, "kms:Encrypt")),
        [iam()],
        {"principal": CAROL_B, "account": B},
        [],
        DENY_KP,
    ),
    (
        "cross: root of B allowed by key policy",
        doc(allow({"AWS": ROOT_B})),
        [],
        {"principal": ROOT_B, "account": B},
        [],
        ALLOW["key"],
    ),
    (
        "cross: Principal * needs IAM too",
        doc(allow("*")),
        [],
        {"principal": CAROL_B, "account": B},
        [],
        NO_ID,
    ),
    (
        "cross: Principal * with IAM",
        doc(allow("*")),
        [iam()],
        {"principal": CAROL_B, "account": B},
        [],
        ALLOW["key"],
    ),
    (
        "cross: IAM allows other key only",
        doc(allow({"AWS": ROOT_B})),
        [iam(resource=OTHER_KEY)],
        {"principal": CAROL_B, "account": B},
        [],
        NO_ID,
    ),
    (
        "cross: key policy names A's user, not B's",
        doc(allow({"AWS": ALICE})),
        [iam()],
        {"principal": CAROL_B, "account": B},
        [],
        NO_KP,
    ),
    (
        "cross: CallerAccount condition",
        doc(allow({"AWS": ROOT_B}, Condition={"StringEquals": {"kms:CallerAccount": B}})),
        [iam()],
        {"principal": CAROL_B, "account": B},
        [],
        ALLOW["iam"],
    ),
    # --- grants ------------------------------------------------------------------------------
    (
        "grant allows grantee",
        doc(allow({"AWS": BOB})),
        [],
        {},
        [{"grantee": ALICE, "ops": ["Encrypt", "Decrypt"]}],
        ALLOW["grant"],
    ),
    (
        "grant for other operation",
        doc(allow({"AWS": BOB})),
        [],
        {},
        [{"grantee": ALICE, "ops": ["Decrypt"]}],
        NO_KP,
    ),
    (
        "grant for other grantee",
        doc(allow({"AWS": BOB})),
        [],
        {},
        [{"grantee": BOB, "ops": ["Encrypt"]}],
        NO_KP,
    ),
    (
        "grant subset constraint met",
        doc(allow({"AWS": BOB})),
        [],
        {"context": {"app": "billing", "x": "y"}},
        [{"grantee": ALICE, "ops": ["Encrypt"], "subset": {"app": "billing"}}],
        ALLOW["grant"],
    ),
    (
        "grant subset constraint unmet",
        doc(allow({"AWS": BOB})),
        [],
        {"context": {"app": "hr"}},
        [{"grantee": ALICE, "ops": ["Encrypt"], "subset": {"app": "billing"}}],
        NO_KP,
    ),
    (
        "grant subset constraint, no context",
        doc(allow({"AWS": BOB})),
        [],
        {},
        [{"grantee": ALICE, "ops": ["Encrypt"], "subset": {"app": "billing"}}],
        NO_KP,
    ),
    (
        "grant equals constraint met",
        doc(allow({"AWS": BOB})),
        [],
        {"context": {"app": "billing"}},
        [{"grantee": ALICE, "ops": ["Encrypt"], "equals": {"app": "billing"}}],
        ALLOW["grant"],
    ),
    (
        "grant equals constraint, extra pair",
        doc(allow({"AWS": BOB})),
        [],
        {"context": {"app": "billing", "x": "y"}},
        [{"grantee": ALICE, "ops": ["Encrypt"], "equals": {"app": "billing"}}],
        NO_KP,
    ),
    (
        "grant equals constraint, value case",
        doc(allow({"AWS": BOB})),
        [],
        {"context": {"app": "Billing"}},
        [{"grantee": ALICE, "ops": ["Encrypt"], "equals": {"app": "billing"}}],
        NO_KP,
    ),
    (
        "grant cannot beat key policy deny",
        doc(deny({"AWS": ALICE})),
        [],
        {},
        [{"grantee": ALICE, "ops": ["Encrypt"]}],
        DENY_KP,
    ),
    (
        "grant cannot beat IAM deny",
        None,
        [iam("Deny")],
        {},
        [{"grantee": ALICE, "ops": ["Encrypt"]}],
        DENY_ID,
    ),
    (
        "grant to other-account principal",
        doc(ROOT_DELEGATION),
        [],
        {"principal": CAROL_B, "account": B},
        [{"grantee": CAROL_B, "ops": ["Encrypt"]}],
        ALLOW["grant"],
    ),
    (
        "second grant matches",
        doc(ROOT_DELEGATION),
        [],
        {},
        [{"grantee": ALICE, "ops": ["Decrypt"]}, {"grantee": ALICE, "ops": ["Encrypt"]}],
        ALLOW["grant"],
    ),
    (
        "grant op is exact, not a wildcard",
        doc(ROOT_DELEGATION),
        [],
        {"action": "kms:GenerateDataKey"},
        [{"grantee": ALICE, "ops": ["GenerateDataKey*"]}],
        NO_ID,
    ),
    # --- actions and messages ---------------------------------------------------------------
    (
        "Describe* covers DescribeKey",
        doc(allow({"AWS": ALICE}, "kms:Describe*")),
        [],
        {"action": "kms:DescribeKey"},
        [],
        ALLOW["key"],
    ),
    (
        "ReEncrypt* covers ReEncryptFrom",
        doc(allow({"AWS": ALICE}, "kms:ReEncrypt*")),
        [],
        {"action": "kms:ReEncryptFrom"},
        [],
        ALLOW["key"],
    ),
    (
        "GenerateDataKey* covers WithoutPlaintext",
        doc(allow({"AWS": ALICE}, "kms:GenerateDataKey*")),
        [],
        {"action": "kms:GenerateDataKeyWithoutPlaintext"},
        [],
        ALLOW["key"],
    ),
    (
        "GenerateDataKey exact does not cover Pair",
        doc(allow({"AWS": ALICE}, "kms:GenerateDataKey")),
        [],
        {"action": "kms:GenerateDataKeyPair"},
        [],
        NO_KP,
    ),
    (
        "statement with several conditions AND'ed",
        doc(
            allow(
                {"AWS": ALICE},
                Condition={
                    "StringEquals": {"kms:EncryptionContext:app": "billing"},
                    "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["app", "tenant"]},
                },
            )
        ),
        [],
        {"context": {"app": "billing", "other": "x"}},
        [],
        NO_KP,
    ),
    (
        "statement with several conditions AND'ed, all met",
        doc(
            allow(
                {"AWS": ALICE},
                Condition={
                    "StringEquals": {"kms:EncryptionContext:app": "billing"},
                    "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["app", "tenant"]},
                },
            )
        ),
        [],
        {"context": {"app": "billing", "tenant": "t1"}},
        [],
        ALLOW["key"],
    ),
    (
        "deny with ForAnyValue misses absent key",
        doc(
            allow({"AWS": ALICE}),
            deny(
                "*", Condition={"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": "secret"}}
            ),
        ),
        [],
        {},
        [],
        ALLOW["key"],
    ),
    (
        "deny with ForAnyValue hits present key",
        doc(
            allow({"AWS": ALICE}),
            deny(
                "*", Condition={"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": "secret"}}
            ),
        ),
        [],
        {"context": {"secret": "1"}},
        [],
        DENY_KP,
    ),
    (
        "Null deny: require encryption context",
        doc(
            allow({"AWS": ALICE}),
            deny("*", Condition={"Null": {"kms:EncryptionContextKeys": "true"}}),
        ),
        [],
        {},
        [],
        DENY_KP,
    ),
    (
        "Null deny: context present",
        doc(
            allow({"AWS": ALICE}),
            deny("*", Condition={"Null": {"kms:EncryptionContextKeys": "true"}}),
        ),
        [],
        {"context": {"a": "b"}},
        [],
        ALLOW["key"],
    ),
    (
        "single statement object form",
        {"Version": "2012-10-17", "Statement": allow({"AWS": ALICE})},
        [],
        {},
        [],
        ALLOW["key"],
    ),
    ("statement without Sid still decides", doc(allow({"AWS": ALICE})), [], {}, [], ALLOW["key"]),
    (
        "identity policy single-statement, no Version",
        None,
        [{"Statement": {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}}],
        {},
        [],
        ALLOW["iam"],
    ),
    (
        "several identity policies, one allows",
        None,
        [iam(action="kms:Decrypt"), iam(action="kms:Encrypt")],
        {},
        [],
        ALLOW["iam"],
    ),
]
