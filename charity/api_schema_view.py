"""/api/schema/: drf-spectacular's view, its answers kept (charity/api_schema.py shapes the document itself;
that module is the API's schema class and is loaded before any view, so the view lives here)."""

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpResponse
from django.utils import translation
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SCHEMA_KWARGS, SpectacularAPIView


class SchemaView(SpectacularAPIView):
    """The OpenAPI document at /api/schema/, built once per process for each language and format.

    It follows from the code alone, the same for every caller (SERVE_PUBLIC), and building and writing it
    took 0.1 s of CPU as JSON and 0.24 s as YAML, for anyone who asked. So the bytes are kept, per language
    and negotiated format. A request whose answer could be one of many (a `lang` outside LANGUAGES, a
    `version`, an Accept header with parameters of its own) is answered as before and not kept, so nobody
    can fill the memory; a changed setting (the tests' override_settings) forgets them all.
    """

    _documents: dict[tuple, tuple[bytes, dict[str, str]]] = {}

    @extend_schema(**SCHEMA_KWARGS)  # as drf-spectacular's own view: not in the document
    def get(self, request, *args, **kwargs):
        key = self._key(request)
        kept = self._documents.get(key) if key is not None else None
        if kept is not None:
            content, headers = kept
            return HttpResponse(content, headers=headers)
        response = super().get(request, *args, **kwargs)
        if key is None:
            return response
        response = self.finalize_response(request, response, *args, **kwargs)
        response.render()
        if response.status_code == 200:
            headers = {name: response[name] for name in ("Content-Type", "Content-Disposition")}
            self._documents[key] = (response.content, headers)
        return response

    @staticmethod
    def _key(request) -> tuple | None:
        lang = request.GET.get("lang") or translation.get_language()
        renderer = request.accepted_renderer
        if (
            lang not in dict(settings.LANGUAGES)
            or set(request.GET) - {"lang", "format"}
            or request.version is not None
            or request.accepted_media_type != renderer.media_type
        ):
            return None
        return (lang, type(renderer))


@receiver(setting_changed)
def _forget_schema_documents(**kwargs):
    SchemaView._documents.clear()
