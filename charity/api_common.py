"""What every API endpoint shares: error bodies, the JSON parser, strict ids, pagination, scoping,
Idempotency-Key. docs/api.md explains the choices."""

import hashlib
import json
from base64 import b64decode
from urllib import parse

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.db import IntegrityError, transaction
from django.http import Http404, HttpResponsePermanentRedirect, JsonResponse
from django.urls import Resolver404, resolve
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiParameter, extend_schema_field
from rest_framework import exceptions, pagination, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .api_auth import is_api_key
from .api_filters import _DIGITS_RE, MAX_ID
from .errors import DomainError
from .models import IdempotencyRecord
from .scoping import scope_for_request
from .validators import VISIBLE_CHARACTER_PATTERN, normalize_key

MAX_PAGE_SIZE = 500


# --- ids ------------------------------------------------------------------------------------------------


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class StrictPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """An id in a request body: a JSON integer from 1 to 2⁶³−1, nothing else.

    DRF's own field passes the value to the database lookup, where 1.9 became fund 1, "1" and 1e0 were
    taken too, and 10**20 crashed SQLite. Anything but an integer is `incorrect_type`; an integer that is
    no row in the queryset (absent or out of scope — they look the same) is `does_not_exist`.
    """

    default_error_messages = {
        "incorrect_type": gettext_lazy("Give the id as a JSON integer, e.g. 12."),
        # The same words for an id that exists nowhere and one outside the caller's scope.
        "does_not_exist": gettext_lazy("There is no such id among those you may use here."),
    }

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("incorrect_type")
        if not 1 <= data <= MAX_ID:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(data)


class StrictCharField(serializers.CharField):
    """Text in a request body: a JSON string (DRF's own field also took 12 and 1.5 and made them text).

    A NUL byte is not refused here: like every control character it is removed when the service
    normalises the text (charity.validators), on every surface alike.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators = [v for v in self.validators if not isinstance(v, ProhibitNullCharactersValidator)]

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """A JSON true or false (DRF's own field also took "yes", "on", 1 and "0")."""

    default_error_messages = {"invalid": gettext_lazy("Give true or false.")}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


# --- pagination -----------------------------------------------------------------------------------------


def _page_size_parameter(description):
    return {
        "name": "page_size",
        "required": False,
        "in": "query",
        "description": description,
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
    }


def strict_page_size(request, default: int) -> int:
    """`?page_size=` as an integer from 1 to 500, or 400 (never silently the default or clamped)."""
    raw = request.query_params.get("page_size")
    if raw is None:
        return default
    if not _DIGITS_RE.fullmatch(raw) or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise exceptions.ValidationError(
            {"page_size": [_("Give a whole number from 1 to %(max)d.") % {"max": MAX_PAGE_SIZE}]}
        )
    return int(raw)


class Pagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request):
        return strict_page_size(request, self.page_size)

    def get_page_number(self, request, paginator):
        if request.query_params.get(self.page_query_param) == "":
            raise exceptions.ValidationError(
                {self.page_query_param: [_("Give a value, or leave the parameter out.")]}
            )
        return super().get_page_number(request, paginator)

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.page_query_param,
                "required": False,
                "in": "query",
                "description": "Page number, from 1. A page past the last is 404 `not_found`.",
                "schema": {"type": "integer", "minimum": 1},
            },
            _page_size_parameter(
                f"Results per page: 1 to {MAX_PAGE_SIZE} (default {self.page_size}); anything else is "
                "400 `invalid`."
            ),
        ]


class StrictCursorPagination(pagination.CursorPagination):
    """Cursor pagination over a descending integer id that refuses a cursor it did not write (404)."""

    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request):
        return strict_page_size(request, self.page_size)

    def decode_cursor(self, request):
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return None
        if not encoded:
            raise self._invalid()
        invalid = self._invalid()
        try:
            querystring = b64decode(encoded.encode("ascii"), validate=True).decode("ascii")
            tokens = (
                parse.parse_qs(querystring, keep_blank_values=True, strict_parsing=True)
                if querystring
                else {}
            )
        except ValueError:  # not base64, not ASCII, or not a query string
            raise invalid
        if set(tokens) - {"o", "r", "p"} or any(len(v) != 1 for v in tokens.values()):
            raise invalid
        offset, reverse = tokens.get("o", ["0"])[0], tokens.get("r", ["0"])[0]
        position = tokens.get("p", [None])[0]
        if not _DIGITS_RE.fullmatch(offset) or int(offset) > self.offset_cutoff or reverse not in ("0", "1"):
            raise invalid
        if position is not None and (not _DIGITS_RE.fullmatch(position) or int(position) > MAX_ID):
            raise invalid
        return pagination.Cursor(offset=int(offset), reverse=reverse == "1", position=position)

    @staticmethod
    def _invalid():
        # 404, as DRF answers a cursor it cannot read: the page the cursor names does not exist.
        return DomainError(
            _("This cursor is not valid: use the `next` or `previous` link as given."),
            code="invalid_cursor",
            field="cursor",
            status=404,
        )

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "Opaque: copy it from the `next` or `previous` link. Anything else is 404 "
                "`invalid_cursor`.",
                "schema": {"type": "string"},
            },
            _page_size_parameter(
                f"Lines per page: 1 to {MAX_PAGE_SIZE} (default {self.page_size}); anything else is 400 "
                "`invalid`."
            ),
        ]


def error_body(code: str, message, fields: dict | None = None) -> dict:
    body = {"code": code, "message": str(message)}
    if fields:
        body["fields"] = fields
    return body


def _flatten(detail):
    if isinstance(detail, dict):
        return {k: _flatten(v) for k, v in detail.items()}
    if isinstance(detail, list):
        return [_flatten(v) for v in detail]
    return str(detail)


def exception_handler(exc, context):
    """Answer every error as {"code", "message", "fields"?}: a stable code and a translated message."""
    if isinstance(exc, DomainError):
        fields = {exc.field: [str(exc.message)]} if exc.field else None
        return Response(error_body(exc.code, exc.message, fields), status=exc.status)
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            fields = {k: [str(m) for e in v for m in e.messages] for k, v in exc.error_dict.items()}
            return Response(error_body("invalid", _("Some fields are not valid."), fields), status=400)
        return Response(error_body("invalid", " ".join(exc.messages)), status=400)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(_("Not found."))
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        if isinstance(detail, dict):
            non_field = detail.get("non_field_errors")
            fields = {k: _flatten(v) for k, v in detail.items() if k != "non_field_errors"}
            message = str(non_field[0]) if non_field else _("Some fields are not valid.")
            body = error_body("invalid", message, fields or None)
        else:
            items = _flatten(detail)
            body = error_body("invalid", items[0] if isinstance(items, list) and items else items)
    else:
        codes = exc.get_codes() if hasattr(exc, "get_codes") else "error"
        code = codes if isinstance(codes, str) else getattr(exc, "default_code", "error")
        body = error_body(
            code, exc.detail if not isinstance(exc.detail, (list, dict)) else _flatten(exc.detail)
        )
    response.data = body
    return response


class ScopedQuerysetMixin:
    """Limit a viewset's queryset to the caller's scope. `scope_area_field` names the FK to Area.

    Ids in paths are digits (anything else is not routed: the JSON 404); one past the 64-bit range is
    404 too, where SQLite would have raised OverflowError.
    """

    scope_area_field = "area"
    lookup_value_regex = "[0-9]+"

    def get_scope(self):
        return scope_for_request(self.request)

    def get_object(self):
        value = self.kwargs.get(self.lookup_url_kwarg or self.lookup_field)
        if value is not None and (not _DIGITS_RE.fullmatch(str(value)) or int(value) > MAX_ID):
            raise Http404
        return super().get_object()

    def get_queryset(self):
        return self.get_scope().filter(super().get_queryset(), self.scope_area_field)


def _client_id(request) -> str:
    if is_api_key(request):
        return f"key:{request.auth.organization_id}:{request.auth.pk}"[:64]
    return f"user:{request.user.pk}"


class _NotStored(Exception):
    def __init__(self, response):
        self.response = response


MAX_IDEMPOTENCY_KEY = 255

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    "Idempotency-Key",
    {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_IDEMPOTENCY_KEY,
        # At least one character that normalisation keeps: a key of spaces or invisible characters is 400.
        "pattern": VISIBLE_CHARACTER_PATTERN,
        "example": "hub-7f3a2c-20260301-0001",
    },
    OpenApiParameter.HEADER,
    required=False,
    description="Makes a retry safe. Any unique string of 1–255 characters (a UUID will do). A retry with "
    "the same key and body returns the first response again (header `Idempotent-Replayed: true`) and "
    "records nothing twice; the same key with another body is 409 `idempotency_key_reused`. A refused "
    "request (4xx) does not use up its key: correct the body and send it again with the same key. Keys "
    "are per API key (or staff user) and kept for a day. The key is normalised like every identifier "
    "(NFKC, invisible characters removed, white space collapsed), and a key that is empty after that is "
    "400 `invalid_idempotency_key`.",
)


def idempotent(handler):
    """Wrap a POST handler so an `Idempotency-Key` makes retries safe.

    Same key and body: the first response again, and nothing done twice. Same key, other body: 409.
    The record is inserted in the same transaction as the change, so a concurrent duplicate waits on the
    unique index (PostgreSQL) or the write lock (SQLite) and then finds the finished first response.
    Only 2xx responses are kept: after a refusal the client may fix nothing and retry with the same key.
    """

    def wrapper(self, request, *args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return handler(self, request, *args, **kwargs)
        # Normalised like every key (no NUL, which PostgreSQL refuses; no invisible look-alikes). The length
        # limit holds before and after (NFKC may lengthen a key).
        raw_length, key = len(key), normalize_key(key)
        if not key or max(raw_length, len(key)) > MAX_IDEMPOTENCY_KEY:
            raise DomainError(
                _("An Idempotency-Key header must have 1 to 255 characters."), code="invalid_idempotency_key"
            )
        client = _client_id(request)
        body_hash = hashlib.sha256(
            json.dumps(request.data, sort_keys=True, default=str, ensure_ascii=False).encode(
                "utf-8", "surrogatepass"
            )
        ).hexdigest()
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    client=client, key=key, method=request.method, path=request.path, body_hash=body_hash
                )
                response = handler(self, request, *args, **kwargs)
                if not 200 <= response.status_code < 300:
                    raise _NotStored(response)
                record.status_code = response.status_code
                record.response_body = json.loads(json.dumps(response.data, default=str))
                record.save(update_fields=["status_code", "response_body"])
                return response
        except _NotStored as stop:
            return stop.response
        except IntegrityError:
            record = IdempotencyRecord.objects.filter(client=client, key=key).first()
            if record is None:
                raise
        if record.body_hash != body_hash or record.path != request.path or record.method != request.method:
            return Response(
                error_body(
                    "idempotency_key_reused",
                    _("This Idempotency-Key was already used for a different request. Use a new key."),
                ),
                status=status.HTTP_409_CONFLICT,
            )
        replay = Response(record.response_body, status=record.status_code)
        replay["Idempotent-Replayed"] = "true"
        return replay

    wrapper.__name__ = handler.__name__
    wrapper.__doc__ = handler.__doc__
    return wrapper


# --- unrouted paths -------------------------------------------------------------------------------------


@csrf_exempt  # like every API view: a POST to a wrong path is a JSON 404, not the CSRF failure page
def api_not_found(request, rest=""):
    """Any path under /api/ that no route takes: the JSON 404 every client can read, never an HTML page.

    A path missing its trailing slash is redirected for GET and HEAD (a browser opening /api/docs); any
    other method gets a 404 naming the right path, since a redirected POST would lose its body (and in
    debug mode Django's APPEND_SLASH raised a RuntimeError: a 500).
    """
    path = request.path
    message = _("Not found.")
    if not path.endswith("/"):
        try:
            match = resolve(path + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not api_not_found:
            if request.method in ("GET", "HEAD"):
                query = request.META.get("QUERY_STRING", "")
                return HttpResponsePermanentRedirect(path + "/" + (f"?{query}" if query else ""))
            message = _("Not found. API paths end with a slash: %(path)s") % {"path": path + "/"}
    return JsonResponse(
        error_body("not_found", message), status=404, json_dumps_params={"ensure_ascii": False}
    )


def server_error(request):
    """An unexpected error: the JSON error body under /api/ (what integrations parse), else the 500 page.

    Says nothing about the error itself; it is logged with its traceback by Django as usual.
    """
    if request.path.startswith("/api/"):
        message = _(
            "Something went wrong on our side. The request may not have been carried out: try again later."
        )
        return JsonResponse(
            error_body("server_error", message), status=500, json_dumps_params={"ensure_ascii": False}
        )
    return defaults.server_error(request)
