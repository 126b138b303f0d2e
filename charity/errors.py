"""The one project-wide domain error. Every surface turns it into its own form of a clear message."""

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """A refused state change: `code` is stable and machine-readable, `message` is translated.

    `field` names the input at fault when there is one, so forms and the API can point at it.
    `status` is the HTTP status the API answers with (400 for bad input, 409 for a conflict).
    """

    code = "invalid"
    status = 400
    default_message = _("The request could not be carried out.")

    def __init__(self, message=None, *, code=None, field=None, status=None):
        self.message = message if message is not None else self.default_message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.field = field
        super().__init__(str(self.message))


class ConflictError(DomainError):
    code = "conflict"
    status = 409
    default_message = _("The request conflicts with the current state.")


class NotFoundError(DomainError):
    """Out of scope and missing look the same from outside (DESIGN.md §3, scoping)."""

    code = "not_found"
    status = 404
    default_message = _("Not found.")


class ForbiddenError(DomainError):
    """The actor may see the object, but their role does not allow this change."""

    code = "forbidden"
    status = 403
    default_message = _("Your role does not allow this change.")
