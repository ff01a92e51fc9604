"""Tag rules shared by KMS keys (and, later, parameters)."""

from __future__ import annotations

from collections.abc import Mapping

from cofre.core.kms.keys import MAX_TAGS
from cofre.errors import LimitExceededError, TagError


def validate_new_tags(existing: Mapping[str, str], new: Mapping[str, str]) -> None:
    for tag_key in new:
        if tag_key.lower().startswith("aws:"):
            raise TagError("Tags beginning with aws: are reserved.")
    if len(set(existing) | set(new)) > MAX_TAGS:
        raise LimitExceededError(f"A resource can have at most {MAX_TAGS} tags.")
