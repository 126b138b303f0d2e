"""Celery tasks of volunteers and events: thin, idempotent wrappers around `volunteers.services`."""
