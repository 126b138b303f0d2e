"""How the API reads a request body and answers OPTIONS: JSON only, bounded depth, real characters.

Kept apart from api_common: DRF imports these classes from its settings while `rest_framework.views`
is being imported, so this module must not import that (api_common does, for its exception handler).
"""

import re
from io import BytesIO

from django.utils.translation import gettext as _
from rest_framework import exceptions, metadata, parsers

MAX_JSON_DEPTH = 32

# --- the request body: JSON only, bounded depth, real characters --------------------------------------

# A JSON string, with its escapes; what is inside one is not structure.
_JSON_STRING_RE = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_A_BRACKET_RE = re.compile(rb"[^\[\]{}]+")
_EMPTY_PAIR_RE = re.compile(rb"\[\]|\{\}")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def json_too_deep(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether JSON text nests arrays and objects more than `limit` deep, found without parsing it.

    Strings are dropped, then everything but brackets; each pass removes the innermost empty pairs, so
    `limit` passes empty any text nested no deeper than `limit`. Regular expressions only (C speed, no
    recursion): a 2.5 MB body of brackets is decided in milliseconds, and the parser never sees it.
    """
    brackets = _NOT_A_BRACKET_RE.sub(b"", _JSON_STRING_RE.sub(b"", raw))
    for _pass in range(limit):
        if not brackets:
            return False
        shorter = _EMPTY_PAIR_RE.sub(b"", brackets)
        if shorter == brackets:
            return False  # unbalanced: malformed JSON, which the parser refuses with its own message
        brackets = shorter
    return bool(brackets)


def _has_surrogate(data) -> bool:
    if isinstance(data, str):
        return bool(_SURROGATE_RE.search(data))
    if isinstance(data, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in data.items())
    if isinstance(data, list):
        return any(_has_surrogate(v) for v in data)
    return False


class StrictJSONParser(parsers.JSONParser):
    """JSON, refused with 400 `parse_error` when nested more than 32 levels or holding a lone surrogate.

    A lone surrogate (`"\\ud800"`) is valid JSON text but no character: it cannot be stored (PostgreSQL),
    hashed for an Idempotency-Key or shown, so it is refused where it enters.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        if json_too_deep(raw):
            raise exceptions.ParseError(
                _("The JSON body is nested more than %(n)d levels deep.") % {"n": MAX_JSON_DEPTH}
            )
        data = super().parse(BytesIO(raw), media_type, parser_context)
        if _has_surrogate(data):
            raise exceptions.ParseError(
                _("The JSON body contains a lone surrogate (\\ud800–\\udfff), which is not a character.")
            )
        return data


class MinimalMetadata(metadata.BaseMetadata):
    """OPTIONS names the media types and points at the schema, the one description of each body.

    DRF's default described the viewset's read serializer as the POST body, which is wrong for every
    endpoint whose request and response differ (a donation), and showed internal docstrings.
    """

    def determine_metadata(self, request, view):
        return {
            "name": view.get_view_name(),
            "renders": [renderer.media_type for renderer in view.renderer_classes],
            "parses": [parser.media_type for parser in view.parser_classes],
            "schema": "/api/schema/",
        }
