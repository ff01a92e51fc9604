"""Which tier a write lands in, and the tag rules of parameters.

Tiers (PutParameter ``Tier``; User Guide, "Managing parameter tiers"):

* ``Standard``: values up to 4 KB, no policies; an Advanced parameter cannot go back;
* ``Advanced``: values up to 8 KB, policies;
* ``Intelligent-Tiering``: Standard unless the request needs Advanced: a value over 4 KB,
  policies, a parameter already Advanced, or the account's Standard quota used up;
* no Tier: the default tier, Standard (an Advanced parameter stays Advanced).
"""

from __future__ import annotations

from collections.abc import Mapping

from cofre.core.params.parameters import MAX_TAGS, TIERS, Tier
from cofre.errors import TooManyTagsError, ValidationError

DOWNGRADE = (
    "This parameter uses the advanced-parameter tier. You can't downgrade a parameter from"
    " the advanced-parameter tier to the standard-parameter tier. If necessary, you can"
    " delete the advanced parameter and recreate it as a standard parameter."
)
POLICIES_NEED_ADVANCED = (
    "Standard tier parameters don't support parameter policies. To use policies, create or"
    " update the parameter in the advanced-parameter tier (Tier Advanced or"
    " Intelligent-Tiering)."
)
TAGS_WITH_OVERWRITE = (
    "Invalid request: tags and overwrite can't be used together. To create a parameter with"
    " tags, please remove overwrite flag. To update tags for an existing parameter, please use"
    " AddTagsToResource or RemoveTagsFromResource."
)


def choose_tier(
    requested: Tier | None,
    value_bytes: int,
    has_policies: bool,
    current: Tier | None,
    standard_full: bool,
) -> Tier:
    """The tier of the new version. ``current`` is None for a new parameter;
    ``standard_full``: the account holds as many Standard parameters as it may."""
    if requested is Tier.ADVANCED:
        return Tier.ADVANCED
    if requested is Tier.STANDARD:
        if current is Tier.ADVANCED:
            raise ValidationError(DOWNGRADE)
        return Tier.STANDARD
    if current is Tier.ADVANCED:
        return Tier.ADVANCED
    if requested is Tier.INTELLIGENT_TIERING and (
        value_bytes > TIERS[Tier.STANDARD].max_value_bytes
        or has_policies
        or (current is None and standard_full)
    ):
        return Tier.ADVANCED
    return Tier.STANDARD


def check_policies_allowed(tier: Tier, has_policies: bool) -> None:
    if has_policies and not TIERS[tier].policies:
        raise ValidationError(POLICIES_NEED_ADVANCED)


def check_tags(existing: Mapping[str, str], new: Mapping[str, str]) -> None:
    """Tag keys starting with ``aws:`` are AWS's; a parameter has at most 50 tags."""
    for key in new:
        if key.lower().startswith("aws:"):
            raise ValidationError(f"Tag keys starting with aws: are reserved: {key[:128]}")
    if len(set(existing) | set(new)) > MAX_TAGS:
        raise TooManyTagsError(f"A parameter can have at most {MAX_TAGS} tags.")
