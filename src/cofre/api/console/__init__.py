"""The web console served at /console/ (ADR 15): an api-layer adapter whose pages call
the API pipeline as the signed-in principal."""
