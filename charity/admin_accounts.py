"""Admin: staff set a new password for a resident who cannot receive a code (no phone, a lost number).

Reached from the person's change page ("Set a new password"). Out of scope is a 404, as for any admin page;
a viewer may look at the person but not do this (403).
"""

from functools import partial

from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _

from .errors import DomainError, NotFoundError
from .forms import StaffSetPasswordForm
from .models import AuditEvent
from .services import Actor, reset_resident_password_by_staff
from .validators import mask_mobile


def set_password_urls(model_admin) -> list:
    """The URL of the page, for PersonAdmin.get_urls (before the admin's own catch-all object URL)."""
    opts = model_admin.opts
    view = model_admin.admin_site.admin_view(partial(set_resident_password_view, model_admin))
    return [path("<path:object_id>/password/", view, name=f"{opts.app_label}_{opts.model_name}_password")]


def set_resident_password_view(model_admin, request, object_id):
    person = model_admin.get_object(request, unquote(object_id))  # scoped: out of scope is Http404
    if not model_admin.has_change_permission(request, person):
        raise PermissionDenied
    if request.method == "POST":
        form = StaffSetPasswordForm(request.POST)
        if form.is_valid():
            try:
                reset_resident_password_by_staff(
                    person=person,
                    new_password=form.cleaned_data["new_password1"],
                    actor=Actor.from_request(request, AuditEvent.Surface.ADMIN),
                )
            except NotFoundError:
                raise Http404
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
            else:
                messages.success(
                    request,
                    _(
                        "A new password is set for %(name)s. Give it to them in person; they log in with "
                        "their mobile number and can change the password once logged in."
                    )
                    % {"name": person.name},
                )
                opts = model_admin.opts
                return redirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[person.pk]))
    else:
        form = StaffSetPasswordForm()
    context = {
        **model_admin.admin_site.each_context(request),
        "title": _("Set a new password for %(name)s") % {"name": person.name},
        "opts": model_admin.opts,
        "original": person,
        "masked_mobile": mask_mobile(person.mobile or ""),
        "form": form,
    }
    return TemplateResponse(request, "admin/charity/person/set_password.html", context)
