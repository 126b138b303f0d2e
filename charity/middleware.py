"""Refuse oversized request bodies before anything reads them."""

import json

from django.conf import settings
from django.http import HttpResponse
from django.utils.translation import gettext as _


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
