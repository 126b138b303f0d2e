"""What every API endpoint shares: error bodies, pagination, scoping, Idempotency-Key."""

import hashlib
import json

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, pagination, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .api_auth import is_api_key
from .errors import DomainError
from .models import IdempotencyRecord
from .scoping import scope_for_request


class Pagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


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
    """Limit a viewset's queryset to the caller's scope. `scope_area_field` names the FK to Area."""

    scope_area_field = "area"

    def get_scope(self):
        return scope_for_request(self.request)

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
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Any unique string (1–255 characters). A retry with the same key and body returns the first "
    "response and records nothing twice; the same key with another body is refused with 409.",
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
        key = key.strip()
        if not key or len(key) > MAX_IDEMPOTENCY_KEY:
            raise DomainError(
                _("An Idempotency-Key header must have 1 to 255 characters."), code="invalid_idempotency_key"
            )
        client = _client_id(request)
        body_hash = hashlib.sha256(
            json.dumps(request.data, sort_keys=True, default=str, ensure_ascii=False).encode()
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
