"""The OpenAPI schema tells the truth: every error an operation can answer, rules the server applies, and
nothing that depends on the database the server happens to run on. docs/api.md explains the choices."""

from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers

from .api_filters import MAX_ID

# The range of a 16-, 32- or 64-bit column. Django turns a model integer field's column size into
# validators from the *connected* database (PostgreSQL: smallint stops at 32767; SQLite: every integer is
# 64-bit), so a schema that copied them differed between the two. They are storage limits, not rules an
# integrator must follow, and are left out; a rule the server sets on purpose (amount_fen ≤ 10¹²) stays.
_COLUMN_BOUNDS = frozenset(
    bound for bits in (16, 32, 64) for bound in (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
)


class ApiErrorSerializer(serializers.Serializer):
    """Every error answer of the API."""

    code = serializers.CharField(
        help_text="Stable and machine-readable, e.g. `invalid`, `duplicate_receipt`, `not_found`."
    )
    message = serializers.CharField(help_text="For people, in the language of `Accept-Language`.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Only for invalid input: the message(s) for each field at fault; a nested field by its "
        "dotted path, e.g. `slots.1.end_time`, `legal_basis.share_with.0`.",
    )

    class Meta:
        ref_name = "Error"


def _example(code, message, fields=None):
    value = {"code": code, "message": message}
    if fields:
        value["fields"] = fields
    return value


# status: (description, {example name: example}); which operations get each one is in ApiSchema.
ERRORS = {
    "400": (
        "Invalid input, nothing recorded. `invalid` (with `fields`): a field or query parameter breaks a "
        "rule — ids are JSON integers (query strings: digits), `page_size` is 1–500; `parse_error`: the "
        "body is not JSON, is nested more than 32 levels or holds a lone surrogate; `invalid_cursor`; "
        "`invalid_idempotency_key`; and the rule codes of a donation (`receipt_required`, "
        "`invalid_receipt`, `invalid_restriction`, `invalid_form`, `item_required`, `invalid_donor`, "
        "`invalid_date`, `invalid_amount`, `reason_required`).",
        {
            "invalid": _example(
                "invalid",
                "Some fields are not valid.",
                {"amount_fen": ["Give the amount as a whole number of fen (1 yuan = 100 fen), e.g. 10000."]},
            ),
            "receipt_required": _example(
                "receipt_required",
                "Enter the host's receipt number, or record that the donor waived the receipt.",
                {
                    "receipt_no": [
                        "Enter the host's receipt number, or record that the donor waived the receipt."
                    ]
                },
            ),
        },
    ),
    "401": (
        "No credentials, or a key that is malformed (`invalid_api_key`), unknown, revoked "
        "(`revoked_api_key`) or expired (`expired_api_key`). `not_authenticated` without credentials.",
        {
            "not_authenticated": _example(
                "not_authenticated", "Authenticate with 'Authorization: Api-Key <key>' or log in as staff."
            )
        },
    ),
    "403": (
        "Authenticated but not allowed: a logged-in user who is not staff (`permission_denied`), a viewer "
        "who tries to refund (`permission_denied`), or an organisation refunding a donation it did not "
        "record (`not_recorded_by_you`).",
        {
            "not_recorded_by_you": _example(
                "not_recorded_by_you", "An organisation may refund only the donations it recorded."
            )
        },
    ),
    "404": (
        "`not_found`: no such record in your scope (one outside your areas looks exactly like one that does "
        "not exist), a page past the last, or a path that is not routed.",
        {"not_found": _example("not_found", "Not found.")},
    ),
    "409": (
        "Refused because of what is already recorded, nothing changed: `duplicate_receipt`, "
        "`fund_closed`, `already_refunded`, `insufficient_funds`, `idempotency_key_reused` (the same "
        "Idempotency-Key with a different body).",
        {
            "duplicate_receipt": _example(
                "duplicate_receipt",
                "This receipt number has already been recorded for this host organisation.",
                {"receipt_no": ["This receipt number has already been recorded for this host organisation."]},
            )
        },
    ),
    "413": (
        "`request_too_large`: the body is larger than the server accepts (2.5 MB by default).",
        {
            "request_too_large": _example(
                "request_too_large", "The request is too large: at most 2.5 MB is accepted."
            )
        },
    ),
    "415": (
        "`unsupported_media_type`: the body is not `application/json` (form encodings are not accepted).",
        {
            "unsupported_media_type": _example(
                "unsupported_media_type",
                'Unsupported media type "application/x-www-form-urlencoded" in request.',
            )
        },
    ),
    "429": (
        "`throttled`: too many requests for this key (600 a minute by default). Wait the seconds in "
        "`Retry-After`.",
        {"throttled": _example("throttled", "Request was throttled. Expected available in 12 seconds.")},
    ),
}

_HEADERS = {
    "401": {
        "WWW-Authenticate": {"schema": {"type": "string"}, "description": "`Api-Key` when a key is expected."}
    },
    "429": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}},
}
_REPLAYED = {
    "Idempotent-Replayed": {
        "schema": {"type": "string", "enum": ["true"]},
        "description": "Present when this is the stored first response to the same Idempotency-Key and body.",
    }
}


def _drop_column_bounds(field, schema):
    if isinstance(field, serializers.IntegerField) and isinstance(schema, dict):
        for key in ("minimum", "maximum"):
            if schema.get(key) in _COLUMN_BOUNDS:
                del schema[key]
        bounds = [schema[k] for k in ("minimum", "maximum") if k in schema]
        if schema.get("format") == "int64" and all(-(2**31) <= b < 2**31 for b in bounds):
            del schema["format"]


class ApiSchema(AutoSchema):
    def get_description(self):
        """Only descriptions written for integrators (`extend_schema(description=…)`), never docstrings."""
        return ""

    def _get_parameters(self):
        parameters = super()._get_parameters()
        for parameter in parameters:
            schema = parameter.get("schema", {})
            if parameter.get("in") == "path" and schema.get("pattern") == "^[0-9]+$":
                # An id in a path (ScopedQuerysetMixin.lookup_value_regex): digits only, else not routed.
                parameter["schema"] = schema = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
            if parameter.get("in") == "query" and schema.get("type") == "string" and "enum" not in schema:
                # A parameter given empty is 400 (charity.api_filters.StrictFilterBackend); a NUL byte is
                # refused by the form field behind every text filter.
                schema.setdefault("minLength", 1)
                if "format" not in schema:
                    schema.setdefault("pattern", "^[^\\u0000]+$")
        return parameters

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        _drop_column_bounds(field, schema)
        return schema

    def _insert_field_validators(self, field, schema):
        super()._insert_field_validators(field, schema)
        _drop_column_bounds(field, schema)

    def _error_statuses(self):
        statuses = ["400", "401", "403", "404", "413", "429"]
        if self.method in ("POST", "PUT", "PATCH"):
            statuses += ["409", "415"]
        return sorted(statuses)

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if self.method in ("POST", "PUT", "PATCH"):
            for code, response in responses.items():
                if code.startswith("2"):
                    response.setdefault("headers", {}).update(_REPLAYED)
        error = self.resolve_serializer(ApiErrorSerializer, "response").ref
        for status in self._error_statuses():
            if status in responses:
                continue
            description, examples = ERRORS[status]
            content = {
                "schema": error,
                "examples": {name: {"value": value} for name, value in examples.items()},
            }
            responses[status] = {"content": {"application/json": content}, "description": description}
            if status in _HEADERS:
                responses[status]["headers"] = _HEADERS[status]
        return responses
