"""Parameter Store: parameters, tiers, policies, filters, events, templates."""
