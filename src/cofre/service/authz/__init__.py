"""The authorization step: key policies, identity policies and grants, cached."""
