"""Webhooks' pure parts, shared by the API (checking a callback_url) and the deliverer (sending it)."""
