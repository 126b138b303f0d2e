"""Request-wide rules: oversized bodies refused, idle staff sessions ended, the portal's 404 page."""

import json
import time

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import Http404, HttpResponse
from django.utils.translation import gettext as _
from django.views.defaults import page_not_found


class RequestSizeLimitMiddleware:
    """Answer 413 to a body larger than MAX_REQUEST_BYTES (MAX_UPLOAD_BYTES for admin imports).

    Django checks DATA_UPLOAD_MAX_MEMORY_SIZE only when a form body is parsed; DRF reads JSON from the
    stream and would take any size, so the limit is enforced here, from Content-Length, for every path.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = (
            settings.MAX_UPLOAD_BYTES if request.path.startswith("/admin/") else settings.MAX_REQUEST_BYTES
        )
        if length > limit:
            from django.utils import translation

            translation.activate(translation.get_language_from_request(request))
            message = _("The request is too large: at most %(mb).1f MB is accepted.") % {
                "mb": limit / 1_048_576
            }
            if request.path.startswith("/api/"):
                body = json.dumps({"code": "request_too_large", "message": message}, ensure_ascii=False)
                return HttpResponse(body, status=413, content_type="application/json")
            return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


def _is_staff(user) -> bool:
    return user is not None and user.is_authenticated and (user.is_staff or user.is_superuser)


class StaffSessionIdleTimeoutMiddleware:
    """End a staff member's session after STAFF_SESSION_IDLE_SECONDS without a request.

    The expiry counts from the session's last save, so a request saves it again, restarting the idle
    time, and the cookie gets the same lifetime: at most once a minute (REFRESH_SECONDS), not one write per
    request. Log-in starts the clock (the receiver below), in the log-in's own save. Residents keep the
    default age (SESSION_COOKIE_AGE); API keys have no session.
    """

    REFRESH_SECONDS = 60
    STAMP = "_staff_idle_refreshed_at"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        logged_in = hasattr(request, "session") and SESSION_KEY in request.session
        if logged_in and _is_staff(getattr(request, "user", None)):
            self.refresh(request.session)
        return response

    @classmethod
    def refresh(cls, session, *, force: bool = False) -> None:
        idle, now = settings.STAFF_SESSION_IDLE_SECONDS, int(time.time())
        stamp = session.get(cls.STAMP)
        if (
            force
            or session.get_expiry_age() != idle
            or not isinstance(stamp, int)
            or not 0 <= now - stamp < cls.REFRESH_SECONDS
        ):
            session.set_expiry(idle)
            session[cls.STAMP] = now


@receiver(user_logged_in)
def start_staff_session_clock(sender, request, user, **kwargs):
    """A staff log-in's session is limited from the start (connected in CharityConfig.ready)."""
    if request is not None and hasattr(request, "session") and _is_staff(user):
        StaffSessionIdleTimeoutMiddleware.refresh(request.session, force=True)


class NotFoundPageMiddleware:
    """Answer an Http404 raised by a view with the portal's 404 page, in debug mode too.

    In debug mode Django would show its technical page instead, naming the model and the lookup that found
    nothing: a staff member who opens an object outside their area must see the same page as for one that
    does not exist. An address that matches no route is refused before any view runs, so debug mode still
    shows Django's list of routes for it (a help while developing; the answer is the same for any address).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, Http404):
            return page_not_found(request, exception)
        return None
