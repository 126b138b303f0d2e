"""Query-string filters of the API: ids are plain digits, and a parameter given empty is refused.

Kept apart from api_common: DRF imports StrictFilterBackend from its settings while `rest_framework.generics`
is being imported, so this module must not import DRF's views (api_common does).
"""

import re

import django_filters
from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions

# The largest id a database row can have (a 64-bit signed integer). A larger number is no id at all: SQLite
# cannot even bind it (OverflowError), so it is refused before it reaches a query.
MAX_ID = 2**63 - 1

_DIGITS_RE = re.compile(r"[0-9]{1,19}", re.ASCII)


class IdField(forms.CharField):
    """An id in a query string: plain digits (no sign, point, exponent, space or full-width digit)."""

    default_error_messages = {
        "invalid": gettext_lazy("Give an id as a whole number written in digits 0–9, e.g. 12."),
    }

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        if not _DIGITS_RE.fullmatch(value) or not 1 <= int(value) <= MAX_ID:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return int(value)


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class IdFilter(django_filters.Filter):
    """Filter on an id given in the query string. Out of scope and absent give the same empty list.

    The viewset's queryset is already scoped, so filtering on the raw id can only narrow it: an id
    that exists outside the caller's scope answers exactly like one that exists nowhere (DESIGN.md §3).
    """

    field_class = IdField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("strip", False)  # " 1" is not an id
        super().__init__(*args, **kwargs)


class StrictFilterBackend(DjangoFilterBackend):
    """django-filter, except that a filter parameter given with no value is refused, not ignored.

    `?fund=` is almost always a client bug (a variable that was empty); answering every row as if no filter
    were asked hides it, and the schema could not say which parameters may be empty.
    """

    # Query parameters that are never a filter's: a request with no other lets the queryset through as it is.
    NOT_FILTERS = frozenset({"page", "page_size", "cursor"})

    def filter_queryset(self, request, queryset, view):
        if self.NOT_FILTERS.issuperset(request.query_params):
            # No filter asked: the filter set would filter nothing, and building it (a copy of every filter,
            # a form, its validation) cost a third of a detail request (docs/performance.md, "API").
            return queryset
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None:
            empty = [
                name for name in filterset_class.base_filters if "" in request.query_params.getlist(name)
            ]
            if empty:
                message = _("Give a value, or leave the parameter out.")
                raise exceptions.ValidationError({name: [message] for name in empty})
        return super().filter_queryset(request, queryset, view)
