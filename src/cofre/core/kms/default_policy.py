"""The key policies AWS attaches when none is given, as documents."""

from __future__ import annotations

import json

from cofre.core.ids import root_arn


def default_key_policy(account_id: str) -> str:
    """AWS's default key policy: the account root may do everything, IAM decides the rest."""
    document = {
        "Version": "2012-10-17",
        "Id": "key-default-1",
        "Statement": [
            {
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": {"AWS": root_arn(account_id)},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }
    return json.dumps(document, indent=2)


def aws_managed_key_policy(account_id: str, region: str, service: str) -> str:
    """The policy of an AWS managed key: use only through its service; reading for the root."""
    document = {
        "Version": "2012-10-17",
        "Id": f"auto-{service}-1",
        "Statement": [
            {
                "Sid": f"Allow access through {service} for all principals in the account "
                "that are authorized to use it",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": [
                    "kms:Encrypt",
                    "kms:Decrypt",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:CreateGrant",
                    "kms:DescribeKey",
                ],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        "kms:ViaService": f"{service}.{region}.amazonaws.com",
                        "kms:CallerAccount": account_id,
                    }
                },
            },
            {
                "Sid": "Allow direct access to key metadata to the account",
                "Effect": "Allow",
                "Principal": {"AWS": root_arn(account_id)},
                "Action": ["kms:Describe*", "kms:Get*", "kms:List*", "kms:RevokeGrant"],
                "Resource": "*",
            },
        ],
    }
    return json.dumps(document, indent=2)
