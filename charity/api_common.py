"""What every API endpoint shares: error bodies, the JSON parser, strict ids, pagination, scoping,
Idempotency-Key. docs/api.md explains the choices."""

import datetime
import hashlib
import json
from base64 import b64decode
from operator import attrgetter, itemgetter
from urllib import parse

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.paginator import EmptyPage, InvalidPage, Page, PageNotAnInteger, Paginator
from django.core.validators import ProhibitNullCharactersValidator
from django.db import IntegrityError, transaction
from django.http import Http404, HttpResponsePermanentRedirect, JsonResponse
from django.urls import Resolver404, resolve
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiParameter, extend_schema_field
from rest_framework import ISO_8601, exceptions, pagination, relations, serializers, status
from rest_framework.fields import SkipField
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from . import public_pages
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


# How long a list's `count` may be served from the cache when it cannot be known from the page itself.
COUNT_CACHE_SECONDS = 5


class _LazyPage(Page):
    """A page that knows whether another follows from the one extra row it read, not from the count."""

    def __init__(self, object_list, number, paginator, more: bool):
        super().__init__(object_list, number, paginator)
        self.more = more

    def has_next(self):
        return self.more

    def next_page_number(self):
        return self.number + 1

    def previous_page_number(self):
        return self.number - 1


class LazyCountPaginator(Paginator):
    """Django's paginator without a COUNT query for every page (docs/performance.md, "API").

    A page reads one row more than it shows: that says whether a next page exists, and on the last page (or
    a list that fits in one) the count is exact without a query. Only a full page that is not the last needs
    the total: it is counted and kept in the cache for COUNT_CACHE_SECONDS under `count_key`, which names the
    list and its caller (never shared between callers). A kept count lower than the rows this page proves to
    exist is counted again. Page numbers are checked as Django's are, and a page past the end is EmptyPage.
    """

    def __init__(self, object_list, per_page, *, count_key: str | None = None):
        super().__init__(object_list, per_page)
        self.count_key = count_key
        self.at_least = 0

    def exact_count(self) -> int:
        count = Paginator.count.func(self)  # Django's own count: a COUNT query
        if self.count_key:
            cache.set(self.count_key, count, COUNT_CACHE_SECONDS)
        return count

    @cached_property
    def count(self):
        if self.count_key:
            kept = cache.get(self.count_key)
            if kept is not None and kept >= self.at_least:
                return kept
        return self.exact_count()

    def page(self, number):
        try:
            if isinstance(number, float) and not number.is_integer():
                raise ValueError
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger(self.error_messages["invalid_page"])
        if number < 1:
            raise EmptyPage(self.error_messages["min_page"])
        bottom = (number - 1) * self.per_page
        if bottom + self.per_page + 1 > MAX_ID:  # no row has such a position; SQLite could not bind it
            raise EmptyPage(self.error_messages["no_results"])
        rows = list(self.object_list[bottom : bottom + self.per_page + 1])
        more = len(rows) > self.per_page
        rows = rows[: self.per_page]
        if not rows and number > 1:
            raise EmptyPage(self.error_messages["no_results"])
        if more:
            self.at_least = bottom + len(rows) + 1
        else:
            self.__dict__["count"] = bottom + len(rows)  # the last page: exact, no query
        return _LazyPage(rows, number, self, more)


class Pagination(pagination.PageNumberPagination):
    """Page numbers, with the count computed only when a full page is not the last (LazyCountPaginator)."""

    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    template = None  # no browsable API: JSON only

    def get_page_size(self, request):
        return strict_page_size(request, self.page_size)

    def paginate_queryset(self, queryset, request, view=None):
        # DRF's, with the paginator given a key for its count.
        self.request = request
        page_size = self.get_page_size(request)
        paginator = LazyCountPaginator(queryset, page_size, count_key=self.count_key(request, view))
        page_number = self.get_page_number(request, paginator)
        try:
            self.page = paginator.page(page_number)
        except InvalidPage as exc:
            raise exceptions.NotFound(
                self.invalid_page_message.format(page_number=page_number, message=str(exc))
            )
        return list(self.page)

    def count_key(self, request, view) -> str:
        """The cache key of a list's count: the view, the caller, and every query parameter but the page's.

        A list's rows depend on these alone (the caller's scope and the filters), as in every viewset here.
        """
        params = sorted(
            (k, v)
            for k, values in request.query_params.lists()
            if k not in (self.page_query_param, self.page_size_query_param)
            for v in values
        )
        view_name = f"{type(view).__module__}.{type(view).__qualname__}.{getattr(view, 'action', '')}"
        named = json.dumps([view_name, _client_id(request), params], ensure_ascii=False)
        return "api-count:" + hashlib.sha256(named.encode("utf-8", "surrogatepass")).hexdigest()

    def get_page_number(self, request, paginator):
        if request.query_params.get(self.page_query_param) == "":
            raise exceptions.ValidationError(
                {self.page_query_param: [_("Give a value, or leave the parameter out.")]}
            )
        page_number = request.query_params.get(self.page_query_param) or 1
        if page_number in self.last_page_strings:
            count = paginator.exact_count()
            page_number = max(1, -(-count // paginator.per_page))
        return page_number

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


# --- serialisers: fields built once per class -----------------------------------------------------------

# A field's to_representation that returns a value of exactly this type unchanged: skipped for such values.
_RETURNS_UNCHANGED = {
    serializers.CharField.to_representation: str,
    serializers.IntegerField.to_representation: int,
    serializers.BooleanField.to_representation: bool,
}
# Fields whose output depends on the request or the serialiser they are bound to: not in a plan.
_NEEDS_CONTEXT = (
    serializers.BaseSerializer,
    relations.HyperlinkedRelatedField,
    serializers.FileField,
    serializers.HiddenField,
)
_METHOD, _ATTRIBUTE, _DATETIME, _FIELD = range(4)


# Serialise with the fields DRF builds once per class, reading each row's attributes directly.
#
# DRF builds a serialiser's fields again for every request (a deep copy of the declared ones, and the model
# fields worked out from the model), then reads each value through generic code: 100 µs an object for a
# donation's 21 fields. This mixin builds the fields once, on first use, and turns them into a plan:
#
# - a `SerializerMethodField`: the method, called on this serialiser (so `self.context` is the request's);
# - a field reading model attributes (`source` with dots, an FK's id): the attribute, read directly; a
#   value the field would return unchanged (a str for CharField, an int for IntegerField and FK ids, a bool
#   for BooleanField, a str choice for ChoiceField) is taken as it is, an aware datetime is written in
#   ISO 8601 in the current time zone as DateTimeField does (the zone is looked up once per serialiser, not
#   per row: 4 µs each time), anything else goes through the field's own `to_representation` (dates,
#   decimals);
# - anything else (a many-to-many of ids, a value that is missing or callable): DRF's code for that field.
#
# The output is DRF's, value for value; `drf_representation` gives DRF's own for a test to compare
# (tests/test_api_speed.py does, for every serialiser using this mixin). The fields, and so the OpenAPI
# schema, are untouched. Fields must not depend on the request: nested serialisers, hyperlinks and files are
# refused when the plan is built (use a method field), and a serialiser may not change its fields per
# request. Reads only: input is validated by DRF as before.
#
# Rows from `.values()` (ValuesListMixin, for a hot list): each model field is read from its column, and
# each other field (a method field, a property) from the serialiser's `row_<field name>(row)` method, which
# may read the extra columns named in `row_columns` and the values the view annotates, `row_annotations`.
# `row_values()` names them all.
#
# (A comment, not a docstring: drf-spectacular would show it as the description of every serialiser using it.)
class FastRepresentationMixin:
    row_columns: tuple[str, ...] = ()
    row_annotations: tuple[str, ...] = ()

    @classmethod
    def representation_plan(cls) -> tuple:
        plan = cls.__dict__.get("_representation_plan")
        if plan is None:
            model = getattr(getattr(cls, "Meta", None), "model", None)
            plan = tuple(_plan_step(cls, model, field) for field in cls()._readable_fields)
            cls._representation_plan = plan  # benign race: two threads build the same plan
        return plan

    @classmethod
    def row_plan(cls) -> tuple:
        """The plan for rows from `.values(*row_values())`: columns by name, `row_<field>` for the rest."""
        plan = cls.__dict__.get("_row_plan")
        if plan is None:
            steps = []
            for kind, name, _read, field, unchanged, convert, column in cls.representation_plan():
                if column is not None:
                    steps.append((kind, name, itemgetter(column), field, unchanged, convert, column))
                elif callable(getattr(cls, f"row_{name}", None)):
                    steps.append((_METHOD, name, f"row_{name}", None, None, None, None))
                else:
                    raise ImproperlyConfigured(
                        f"{cls.__name__}.{name} is no model column: give {cls.__name__} a row_{name}(row) "
                        "method for rows read with .values()."
                    )
            plan = cls._row_plan = tuple(steps)
        return plan

    @classmethod
    def row_values(cls) -> tuple[str, ...]:
        """The names a row has: every column the row plan reads, `row_columns`, then `row_annotations`."""
        columns = [step[6] for step in cls.row_plan() if step[6] is not None]
        return tuple(dict.fromkeys([*columns, *cls.row_columns, *cls.row_annotations]))

    def to_representation(self, instance):
        plan = self.row_plan() if type(instance) is dict else self.representation_plan()
        ret = {}
        for kind, name, read, field, unchanged, convert, _column in plan:
            if kind is _METHOD:
                ret[name] = getattr(self, read)(instance)
                continue
            if kind is not _FIELD:
                try:
                    value = read(instance)
                except AttributeError:  # an empty relation on the way, a missing attribute: DRF decides
                    pass
                else:
                    if value is None:
                        ret[name] = None
                        continue
                    if kind is _DATETIME:
                        if type(value) is datetime.datetime and value.tzinfo is not None:
                            zone = self.__dict__.get("_representation_zone")
                            if zone is None:
                                zone = self.__dict__["_representation_zone"] = timezone.get_current_timezone()
                            try:
                                text = value.astimezone(zone).isoformat()
                            except OverflowError:  # DRF's field answers this one
                                pass
                            else:
                                ret[name] = text[:-6] + "Z" if text.endswith("+00:00") else text
                                continue
                    elif type(value) is unchanged:
                        ret[name] = value
                        continue
                    elif convert is not None and not callable(value):
                        ret[name] = convert(value)
                        continue
            # DRF's Serializer.to_representation, for this field.
            try:
                attribute = field.get_attribute(instance)
            except SkipField:
                continue
            check_for_none = attribute.pk if isinstance(attribute, relations.PKOnlyObject) else attribute
            ret[name] = None if check_for_none is None else field.to_representation(attribute)
        return ret

    def drf_representation(self, instance):
        """DRF's own representation of `instance`, through fields built for this serialiser (for tests)."""
        return serializers.Serializer.to_representation(self, instance)


def _column(model, attrs: list[str], *, fk_id: bool = False) -> str | None:
    """The `.values()` name of a source read through model fields (`transaction.kind` is
    `transaction__kind`; with `fk_id`, the last one is an FK read as its id), or None for anything else."""
    names = []
    for i, attr in enumerate(attrs):
        try:
            field = model._meta.get_field(attr)
        except (AttributeError, FieldDoesNotExist):
            return None
        last = i == len(attrs) - 1
        if not getattr(field, "concrete", False) or field.many_to_many:
            return None
        if not last:
            if not (field.many_to_one or field.one_to_one):
                return None
            model = field.related_model
            names.append(attr)
        elif field.is_relation:
            if not fk_id:
                return None
            names.append(field.attname)
        else:
            names.append(attr)
    return "__".join(names)


def _plan_step(serializer_class, model, field) -> tuple:
    """(kind, field name, reader, field, type returned unchanged, converter, `.values()` column)."""
    name = field.field_name
    if isinstance(field, serializers.SerializerMethodField):
        return (_METHOD, name, field.method_name, None, None, None, None)
    if isinstance(field, _NEEDS_CONTEXT) or (
        isinstance(field, relations.ManyRelatedField) and isinstance(field.child_relation, _NEEDS_CONTEXT)
    ):
        raise ImproperlyConfigured(
            f"{serializer_class.__name__}.{name}: {type(field).__name__} depends on the request; "
            "FastRepresentationMixin takes a SerializerMethodField in its place."
        )
    generic = (_FIELD, name, None, field, None, None, None)
    if field.source == "*" or isinstance(field, relations.ManyRelatedField):
        return generic
    to_representation = type(field).to_representation
    source = ".".join(field.source_attrs)
    if isinstance(field, relations.RelatedField):
        # The FK's id, as DRF reads it (`serializable_value`), without the related row: an int id is the
        # output; any other value goes through DRF's code.
        if not (
            field.use_pk_only_optimization()
            and len(field.source_attrs) == 1
            and to_representation is relations.PrimaryKeyRelatedField.to_representation
            and field.pk_field is None
        ):
            return generic
        attname = _column(model, field.source_attrs, fk_id=True)
        if attname is None:
            return generic
        return (_ATTRIBUTE, name, attrgetter(attname), field, int, None, attname)
    column = _column(model, field.source_attrs)
    if (
        to_representation is serializers.DateTimeField.to_representation
        and settings.USE_TZ
        and not hasattr(field, "timezone")
        and str(getattr(field, "format", api_settings.DATETIME_FORMAT)).lower() == ISO_8601
    ):
        return (_DATETIME, name, attrgetter(source), field, None, None, column)
    unchanged = _RETURNS_UNCHANGED.get(to_representation)
    if to_representation is serializers.BigIntegerField.to_representation and not getattr(
        field, "coerce_to_string", api_settings.COERCE_BIGINT_TO_STRING
    ):
        unchanged = int  # the id of a BigAutoField, a BigIntegerField
    if to_representation is serializers.ChoiceField.to_representation and all(
        type(choice) is str for choice in field.choice_strings_to_values.values()
    ):
        unchanged = str  # a str value comes back as the choice it names: the same str
    return (_ATTRIBUTE, name, attrgetter(source), field, unchanged, field.to_representation, column)


# A viewset whose list reads `.values()` rows, not model instances: for a list that is hot.
#
# Building model instances cost more than writing them out (a donation with its donor: 30 µs a row, 1.5 ms
# for a page of 50). The serialiser (with FastRepresentationMixin) names the columns and writes each row
# as it writes an instance; the detail and the writes keep instances. tests/test_api_speed.py checks
# that both give the same output for the same rows.
#
# For the list, `get_queryset` starts from the viewset's `queryset` turned into rows once per class (naming
# two dozen columns cost an eighth of the request when done each time); what the viewset adds after it —
# the scope, filters, the serialiser's `row_annotations` — applies to rows as it would to objects. Put this
# mixin after ScopedQuerysetMixin among the bases, so that its `get_queryset` is the one the scope filters.
class ValuesListMixin:
    def get_queryset(self):
        if getattr(self, "action", None) != "list":
            return super().get_queryset()
        cls = type(self)
        rows = cls.__dict__.get("_list_rows")
        if rows is None:
            serializer_class = self.get_serializer_class()
            later = set(serializer_class.row_annotations)
            names = [name for name in serializer_class.row_values() if name not in later]
            rows = cls._list_rows = super().get_queryset().values(*names)  # never evaluated, only copied
        return rows.all()

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        if page is None:
            return Response(self.get_serializer(list(queryset), many=True).data)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


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


def _field_errors(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested errors as the documented `fields` shape: one list of messages per dotted path.

    `{"slots": [{}, {"end_time": ["…"]}]}` becomes `{"slots.1.end_time": ["…"]}`; a nested serialiser's
    own errors (`non_field_errors`) are filed under its path (`slots.1`), a list's under the list's.
    """
    if isinstance(detail, dict):
        out = {}
        for key, value in detail.items():
            path = (
                prefix if key == "non_field_errors" and prefix else f"{prefix}.{key}" if prefix else str(key)
            )
            for field, messages in _field_errors(value, path).items():
                out.setdefault(field, []).extend(messages)
        return out
    if isinstance(detail, list) and any(isinstance(v, (dict, list)) for v in detail):
        out = {}
        for index, value in enumerate(detail):
            for field, messages in _field_errors(value, f"{prefix}.{index}").items():
                out.setdefault(field, []).extend(messages)
        return out
    messages = detail if isinstance(detail, list) else [detail]
    return {prefix: [str(m) for m in messages]} if messages else {}


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
            fields = _field_errors({k: v for k, v in detail.items() if k != "non_field_errors"})
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


class CachedListMixin:
    """Serve an organisation key's GET list answers from the cache until something they show is written
    (charity.public_pages.cached_api_read). Put it first among a viewset's bases. Only for viewsets whose
    answers depend on nothing but the rows in the key's scope, the language and the date — not on the time of
    day."""

    def list(self, request, *args, **kwargs):
        return public_pages.cached_api_read(
            request, self, lambda: super(CachedListMixin, self).list(request, *args, **kwargs)
        )


class CachedReadsMixin(CachedListMixin):
    """CachedListMixin, and the detail answers too (only on a viewset that has them: the router makes a
    detail route for any viewset with a `retrieve`)."""

    def retrieve(self, request, *args, **kwargs):
        return public_pages.cached_api_read(
            request, self, lambda: super(CachedReadsMixin, self).retrieve(request, *args, **kwargs)
        )


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
