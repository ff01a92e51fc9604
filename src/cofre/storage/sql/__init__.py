"""The SQL both backends share: one transaction class, one mixin per aggregate."""
