"""What the governance admins share (proposals, projects, topics, meetings): a record added through its
service, checked first by a trial run that is always rolled back; a record page that is read-only and
changed only by steps, each step a small form on a page of its own (`<id>/step/<step>/`) that calls one
service, so that a refusal is shown on the form it came from with nothing changed; and the small read-only
tables of the record pages.

Each admin keeps its own forms, its steps by status, its template and its messages.
"""

from decimal import Decimal

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from charity.admin_base import ROLE
from charity.errors import DomainError
from charity.models import AuditEvent
from charity.services import Actor


def admin_actor(request) -> Actor:
    return Actor.from_request(request, AuditEvent.Surface.ADMIN)


def fen_from_yuan(yuan: Decimal | None) -> int | None:
    """Yuan as a form's DecimalField gives it, in fen (exact: the fields take at most two decimals)."""
    return None if yuan is None else int(yuan.scaleb(2))


def table(headers, rows) -> str:
    """A small read-only table for a record's page (every value escaped); "—" when there are no rows."""
    if not rows:
        return "—"
    head = format_html_join("", "<th>{}</th>", ((h,) for h in headers))
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        ((format_html_join("", "<td>{}</td>", ((cell,) for cell in row)),) for row in rows),
    )
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, body)


# --- refusals on forms -------------------------------------------------------------------------------------


def put_error(form, exc: DomainError, field_names: dict | None = None, *, outside_field=None) -> None:
    """Show a service's refusal on `form`: on the field it names (a service's name for it translated by
    `field_names`), else above the form. Out of scope is said as such, on `outside_field` if given."""
    field = (field_names or {}).get(exc.field, exc.field)
    message = str(exc.message)
    if exc.code == "not_found":
        field, message = outside_field, gettext("This reaches outside the areas you manage.")
    form.add_error(field if field in form.fields else None, message)


class _Trial(Exception):
    """Raised inside a trial run to roll it back."""


def trial(form, run, field_names: dict | None = None, *, outside_field=None) -> None:
    """Run `run()` in a savepoint that is always rolled back; a DomainError becomes a form error."""
    try:
        with transaction.atomic():
            run()
            raise _Trial
    except _Trial:
        pass
    except DomainError as exc:
        put_error(form, exc, field_names, outside_field=outside_field)


# --- adding a record through its service -------------------------------------------------------------------


class ServiceAddForm(forms.ModelForm):
    """An add form whose record is written by a service (`create(actor)`), which checks everything and says
    which field is wrong and why: no model validation (the model's own check would name a database
    constraint), a trial run instead. The admin sets `request` (AddThroughServiceMixin.get_form)."""

    request = None
    # Where a service's field name differs from this form's.
    field_names: dict = {}
    # The field an out-of-scope refusal is shown on (None: above the form).
    outside_field = None

    def arguments(self) -> dict:
        raise NotImplementedError

    def create(self, actor):
        """Call the service with `arguments()`; return the record."""
        raise NotImplementedError

    def _post_clean(self):
        if self.errors or self.request is None:
            return
        trial(
            self,
            lambda: self.create(admin_actor(self.request)),
            self.field_names,
            outside_field=self.outside_field,
        )


class AddThroughServiceMixin:
    """Mix into a ModelAdmin whose `form` is a ServiceAddForm: the record is added by the form's service
    (with its many-to-many fields), never saved here."""

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if obj is not None:
            return form
        return type(form.__name__, (form,), {"request": request})

    def save_form(self, request, form, change):
        return form.instance

    def save_model(self, request, obj, form, change):
        created = form.create(admin_actor(request))
        obj.pk = created.pk
        obj._state.adding = False

    def save_related(self, request, form, formsets, change):
        pass  # the service set the many-to-many fields


# --- the steps ---------------------------------------------------------------------------------------------


class StepForm(forms.Form):
    """One step: `perform(actor)` calls the service; a DomainError is shown on the form, nothing changed.

    The record comes by the keyword `record_name` ("proposal", "project", "topic") and is kept under it."""

    step = ""
    title = ""
    button = _("Save")
    help = ""
    # Where a service's field name differs from this form's.
    field_names: dict = {}
    record_name = ""
    # Said when the step is done, with the record's new status as %(status)s.
    done_text = ""

    def __init__(self, *args, **kwargs):
        record = kwargs.pop(self.record_name)
        super().__init__(*args, **kwargs)
        setattr(self, self.record_name, record)

    def perform(self, actor):
        raise NotImplementedError

    def done_message(self):
        record = getattr(self, self.record_name)
        return str(self.done_text) % {"status": type(record).objects.get(pk=record.pk).get_status_display()}


class StepPagesMixin:
    """Mix into a ScopedAdminMixin ModelAdmin whose record page is read-only and changed only by steps:
    a page per step (`<pk>/step/<step>/`, URL name `<app>_<model>_step`), listed on the record's page for
    staff of its area. Out of scope is 404, as a record that does not exist; a viewer is refused (403)."""

    step_forms: dict = {}  # step name → StepForm class
    steps_by_status: dict = {}  # status → the step names offered
    step_template = ""
    # Whether a refused step answers with the refusal's status (400, 409…) rather than 200.
    step_answers_with_status = False

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False

    def step_url_name(self) -> str:
        return f"{self.opts.app_label}_{self.opts.model_name}_step"

    def get_urls(self):
        return [
            path(
                "<int:pk>/step/<slug:step>/",
                self.admin_site.admin_view(self.step_view),
                name=self.step_url_name(),
            ),
            *super().get_urls(),
        ]

    def step_names(self, obj) -> list:
        """The steps offered on the record's page (the services refuse any other anyway)."""
        return list(self.steps_by_status.get(obj.status, ()))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        steps = []
        if obj is not None and self._allowed(request, obj, ROLE.STAFF):
            steps = [
                (reverse(f"admin:{self.step_url_name()}", args=[obj.pk, name]), self.step_forms[name].title)
                for name in self.step_names(obj)
            ]
        return super().change_view(request, object_id, form_url, {"steps": steps, **(extra_context or {})})

    def record_for(self, request, pk, min_role=ROLE.STAFF):
        """A record of the user's areas (else 404), which they may act on with `min_role` (else 403)."""
        obj = self.get_queryset(request).filter(pk=pk).first()
        if obj is None:
            raise Http404
        if not self._allowed(request, obj, min_role):
            raise PermissionDenied
        return obj

    def step_view(self, request, pk, step):
        """One step, by staff of the record's area."""
        form_class = self.step_forms.get(step)
        if form_class is None:
            raise Http404
        record = self.record_for(request, pk)
        posted = request.method == "POST"
        form = form_class(
            request.POST if posted else None,
            request.FILES if posted else None,
            **{form_class.record_name: record},
        )
        return self.step_page(request, record, form)

    def step_context(self, record, form) -> dict:
        """What the step's template shows besides the form (the record is there under its model's name)."""
        return {}

    def step_page(self, request, record, form):
        """Show the step's form; on a valid POST run it, then go back to the record's page."""
        status = 200
        if request.method == "POST" and form.is_valid():
            try:
                with transaction.atomic():
                    form.perform(admin_actor(request))
            except DomainError as exc:
                if exc.status == 404:
                    raise Http404 from None
                put_error(form, exc, form.field_names)
                self.message_user(request, str(exc.message), messages.ERROR)
                status = exc.status
            else:
                self.message_user(request, form.done_message(), messages.SUCCESS)
                opts = self.opts
                return redirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[record.pk]))
        elif request.method == "POST":
            status = 400
        return TemplateResponse(
            request,
            self.step_template,
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "record": record,
                self.opts.model_name: record,
                "form": form,
                "title": form.title,
                "help": form.help,
                "button": form.button,
                **self.step_context(record, form),
            },
            status=status if self.step_answers_with_status else 200,
        )
