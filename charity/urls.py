"""Root URLs. Other apps are included by dotted path, so the core app imports none of them."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from django.views.i18n import set_language
from drf_spectacular.views import SpectacularSwaggerSplitView

from .api_common import api_not_found
from .api_schema_view import SchemaView

# An unexpected error under /api/ answers the JSON error body, elsewhere the portal's 500 page.
handler500 = "charity.api_common.server_error"

admin.site.site_header = _("Community charity platform")
admin.site.site_title = _("Community charity")
admin.site.index_title = _("Neighbourhood committee office")

urlpatterns = [
    path("admin/", admin.site.urls),
    # The language switch carries no CSRF token, so that a public page holds nothing of one visitor and can be
    # served to all from the cache (charity/public_pages.py); another site can at most switch the language.
    path("i18n/setlang/", csrf_exempt(set_language), name="set_language"),
    path("api/schema/", SchemaView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file: the policy runs no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("charity.api_urls")),
    path("api/v1/", include("funds.api_urls")),
    path("api/v1/", include("governance.api_urls")),
    path("api/v1/", include("resources.api_urls")),
    path("api/v1/", include("needs.api_urls")),
    path("api/v1/", include("volunteers.api_urls")),
    # Last under /api/: any path no route takes answers the JSON 404, never an HTML page.
    re_path(r"^api/", api_not_found),
    path("funds/", include("funds.urls")),
    path("committees/", include("governance.urls")),
    path("resources/", include("resources.urls")),
    path("needs/", include("needs.urls")),
    path("volunteers/", include("volunteers.urls")),
    path("", include("charity.portal_urls")),
]

if settings.DEBUG:
    from django.contrib.staticfiles.urls import staticfiles_urlpatterns

    urlpatterns += staticfiles_urlpatterns()
