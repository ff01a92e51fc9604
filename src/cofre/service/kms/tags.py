"""Tag rules of KMS keys (CreateKey, ReplicateKey and TagResource), in AWS's words."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cofre.core.kms.keys import MAX_TAGS
from cofre.errors import TagError

Tags = Sequence[tuple[str, str]]  # as the request lists them: (TagKey, TagValue)


def new_tags(existing: Mapping[str, str], requested: Tags) -> dict[str, str]:
    """The tags a request adds, once they pass AWS's checks: no key twice in one request,
    no ``aws:`` prefix (in any case), at most 50 on the key afterwards."""
    tags: dict[str, str] = {}
    for tag_key, tag_value in requested:
        if tag_key in tags:
            raise TagError("Duplicate tag keys")
        if tag_key.lower().startswith("aws:"):
            raise TagError("Tags beginning with aws: are reserved")
        tags[tag_key] = tag_value
    if len(set(existing) | set(tags)) > MAX_TAGS:
        raise TagError("Too many tags")
    return tags
