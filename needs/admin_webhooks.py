"""Webhooks of hub organisations in the admin: register an address, see its secret once, replace the secret,
deactivate; the delivery log, read-only, with "send again". Every write goes through needs.webhooks.

Scoped like everything else: staff see the webhooks and deliveries of organisations based in their areas;
anything else is absent (404).
"""

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.cache import add_never_cache_headers
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from charity.admin import ServiceAdminMixin, ServiceFormMixin, admin_actor
from charity.admin_base import ROLE, ScopedAdminMixin, ScopedReadOnlyAdmin, has_role
from charity.audit_display import with_note
from charity.errors import DomainError

from . import webhooks
from .models import WebhookDelivery, WebhookEndpoint


class WebhookEndpointForm(ServiceFormMixin, forms.ModelForm):
    # A plain text field: needs.webhooks.check_url says precisely what is wrong with an address.
    url = forms.CharField(
        label=_("address (URL)"),
        max_length=webhooks.URL_MAX,
        help_text=_(
            "The organisation's https:// address that receives the signed notices, e.g. "
            "https://example.org/charity-webhook. Its secret is shown once, after saving."
        ),
        widget=forms.TextInput(attrs={"class": "vURLField", "size": 80}),
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["organization"]  # and the declared `url`


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ServiceAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    """Registered through the service, the secret shown once; replaced or deactivated, never edited."""

    form = WebhookEndpointForm
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}  # replaced by the form's own
    scope_area_field = "organization__area"
    list_display = ["url", "organization", "is_active", "created_at", "deliveries_link"]
    list_filter = ["is_active", ("organization", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["organization"]
    search_fields = ["url", "organization__name"]
    actions = ["deactivate_webhooks"]
    READ_FIELDS = ["organization", "url", "is_active", "secret_display", "created_by", "created_at"]

    def get_fields(self, request, obj=None):
        return ["organization", "url"] if obj is None else self.READ_FIELDS

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.READ_FIELDS

    def has_delete_permission(self, request, obj=None):
        return False  # deactivated, never deleted: its delivery log stays

    @admin.display(description=_("secret"))
    def secret_display(self, endpoint):
        hint = gettext("Shown only once, when the webhook was registered or its secret replaced.")
        if not endpoint.is_active:
            return hint
        return format_html(
            '{} <a href="{}">{}</a>',
            hint,
            reverse("admin:needs_webhookendpoint_rotate", args=[endpoint.pk]),
            gettext("Replace the secret"),
        )

    @admin.display(description=_("delivery log"))
    def deliveries_link(self, endpoint):
        return format_html(
            '<a href="{}?endpoint__organization__id__exact={}">{}</a>',
            reverse("admin:needs_webhookdelivery_changelist"),
            endpoint.organization_id,
            gettext("deliveries"),
        )

    def write(self, request, obj, form):
        if obj.pk is not None:
            return obj  # nothing on a webhook is edited: it is replaced
        endpoint, secret = webhooks.create_endpoint(
            actor=admin_actor(request),
            organization=form.cleaned_data["organization"],
            url=form.cleaned_data["url"],
        )
        obj.pk = endpoint.pk
        obj._state.adding = False
        obj._plain_secret = secret
        return endpoint

    def log_addition(self, request, obj, message):
        pass  # the service writes the audit event

    def log_change(self, request, obj, message):
        pass

    def _secret_page(self, request, endpoint, secret, *, rotated: bool):
        # Shown on this page only: not in a message (the cookie would carry it), a URL or a cache.
        response = TemplateResponse(
            request,
            "admin/needs/webhookendpoint/secret.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": gettext("The webhook's secret for %(org)s") % {"org": endpoint.organization.name},
                "endpoint": endpoint,
                "secret": secret,
                "rotated": rotated,
                "replay_minutes": webhooks.REPLAY_WINDOW_SECONDS // 60,
            },
        )
        add_never_cache_headers(response)
        return response

    def response_add(self, request, obj, post_url_continue=None):
        endpoint = WebhookEndpoint.objects.select_related("organization").get(pk=obj.pk)
        return self._secret_page(request, endpoint, obj._plain_secret, rotated=False)

    def get_urls(self):
        return [
            path(
                "<int:pk>/rotate/",
                self.admin_site.admin_view(self.rotate_view),
                name="needs_webhookendpoint_rotate",
            ),
            *super().get_urls(),
        ]

    def rotate_view(self, request, pk):
        """Confirm, then replace the secret and show the new one once (webhooks.rotate_secret)."""
        endpoint = self.get_queryset(request).select_related("organization").filter(pk=pk).first()
        if endpoint is None:
            raise Http404
        if not self.has_change_permission(request, endpoint):
            raise PermissionDenied
        change_url = reverse("admin:needs_webhookendpoint_change", args=[endpoint.pk])
        if request.method == "POST":
            try:
                secret = webhooks.rotate_secret(actor=admin_actor(request), endpoint=endpoint)
            except DomainError as exc:
                if exc.status == 404:
                    raise Http404 from None
                self.message_user(request, str(exc.message), messages.ERROR)
                return HttpResponseRedirect(change_url)
            return self._secret_page(request, endpoint, secret, rotated=True)
        return TemplateResponse(
            request,
            "admin/needs/webhookendpoint/rotate_confirm.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": gettext("Replace the secret of a webhook of %(org)s")
                % {"org": endpoint.organization.name},
                "endpoint": endpoint,
                "change_url": change_url,
            },
        )

    @admin.action(description=_("Deactivate the selected webhooks"), permissions=["change"])
    def deactivate_webhooks(self, request, queryset):
        actor = admin_actor(request)
        done, refused = 0, []
        mine = self.scoped(queryset, request, ROLE.STAFF).select_related("organization")
        for endpoint in mine.filter(is_active=True):
            try:
                webhooks.deactivate_endpoint(actor=actor, endpoint=endpoint)
            except DomainError as exc:
                refused.append(f"{endpoint.url}: {exc.message}")
            else:
                done += 1
        if done:
            self.message_user(request, gettext("%(n)d webhooks deactivated.") % {"n": done}, messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.ERROR)


class EventFilter(admin.SimpleListFilter):
    title = _("kind of notice")  # not "event": that word is a volunteers' event (活动) in the catalogue
    parameter_name = "event"

    def lookups(self, request, model_admin):
        return list(webhooks.EVENTS.items())

    def queryset(self, request, queryset):
        return queryset.filter(event=self.value()) if self.value() else queryset


def error_text(value: str) -> str:
    """A stored error ("http_status: 500") as staff read it, in their language."""
    if not value:
        return ""
    code, _sep, detail = value.partition(": ")
    label = webhooks.ERROR_LABELS.get(code)
    return with_note(label, detail) if label is not None else value


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ScopedReadOnlyAdmin):
    """The delivery log: what was sent to which organisation, its attempts and answers; "send again"."""

    scope_area_field = "endpoint__organization__area"
    list_display = [
        "created_at",
        "event_display",
        "organization_display",
        "status",
        "attempts",
        "last_status_code",
        "error_display",
        "next_attempt_at",
        "delivered_at",
    ]
    list_filter = ["status", EventFilter, ("endpoint__organization", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["endpoint__organization"]
    search_fields = ["=event_id"]
    actions = ["resend"]
    fields = [
        "organization_display",
        "endpoint",
        "event_display",
        "event_id",
        "status",
        "attempts",
        "last_status_code",
        "error_display",
        "next_attempt_at",
        "delivered_at",
        "created_at",
        "payload_display",
    ]
    readonly_fields = fields

    @admin.display(description=_("kind of notice"), ordering="event")
    def event_display(self, delivery):
        return webhooks.EVENTS.get(delivery.event, delivery.event)

    @admin.display(description=_("organisation"), ordering="endpoint__organization__name")
    def organization_display(self, delivery):
        return delivery.endpoint.organization.name

    @admin.display(description=_("last error"))
    def error_display(self, delivery):
        return error_text(delivery.last_error)

    @admin.display(description=_("payload"))
    def payload_display(self, delivery):
        text = json.dumps(delivery.payload, ensure_ascii=False, indent=2, sort_keys=True)
        return format_html("<pre>{}</pre>", text)

    def has_resend_permission(self, request):
        return has_role(request.user, ROLE.STAFF)

    @admin.action(description=_("Send the selected notices again"), permissions=["resend"])
    def resend(self, request, queryset):
        actor = admin_actor(request)
        done, refused = 0, []
        mine = self.scoped(queryset, request, ROLE.STAFF).select_related("endpoint__organization")
        for delivery in mine:
            try:
                webhooks.resend_delivery(actor=actor, delivery=delivery)
            except DomainError as exc:
                refused.append(f"{delivery.event_id}: {exc.message}")
            else:
                done += 1
        if done:
            self.message_user(
                request, gettext("%(n)d notices will be sent again.") % {"n": done}, messages.SUCCESS
            )
        for line in refused:
            self.message_user(request, line, messages.ERROR)
