"""The volunteers admin, one module per subject (volunteers and leaders, events and check-in, hours and
certificates); importing them registers their model admins."""

from . import events, hours, volunteers  # noqa: F401
