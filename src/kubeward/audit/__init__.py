"""Audit logging: read events, detect attacks, receive the webhook backend, write and check policies."""
