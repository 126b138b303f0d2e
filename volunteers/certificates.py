"""Certificates of service hours as a printable page and as a PDF in Chinese with its CJK font embedded.

The PDF is WeasyPrint's rendering of the same certificate the printable page shows (one template,
volunteers/certificate_body.html): WeasyPrint lays the page out with pango and embeds the subset of the font
it used, so the file reads the same on any phone or printer. The font is `settings.CERTIFICATE_FONT_PATH`
(any TrueType/OpenType font or collection with CJK glyphs; the image installs fonts-noto-cjk). A missing
font is a configuration error with a clear message, never a PDF of empty boxes.

Both surfaces read the volunteer block through `services.certificate_identity`, which decides who sees the
full ID number and audits every print.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from charity.services import Actor

from .models import Certificate
from .services import hours as hours_services


class CertificateFontMissing(ImproperlyConfigured):
    pass


def font_path() -> Path:
    path = Path(getattr(settings, "CERTIFICATE_FONT_PATH", "") or "")
    if not str(path) or not path.is_file():
        raise CertificateFontMissing(
            "The CJK font for certificate PDFs is missing: "
            f"CERTIFICATE_FONT_PATH={str(path)!r} is not a file. "
            "Install fonts-noto-cjk (Debian) or point CERTIFICATE_FONT_PATH at a TrueType/OpenType font "
            "with Chinese glyphs."
        )
    return path


def certificate_context(*, certificate: Certificate, actor: Actor, surface_note: str = "") -> dict:
    """What the certificate shows: the four blocks (volunteer, service, issuer, number and date)."""
    identity = hours_services.certificate_identity(
        certificate=certificate, actor=actor, surface_note=surface_note
    )
    return {
        "certificate": certificate,
        "identity": identity,
        "hours": hours_services.format_hours(certificate.total_minutes),
        "record_count": certificate.records.count(),
        "verify_path": reverse("volunteers:certificate_verify"),
    }


def render_pdf(*, certificate: Certificate, actor: Actor) -> bytes:
    """The certificate as a PDF in Chinese (whatever the reader's language), the font embedded."""
    import weasyprint  # imported here: pango is loaded only when a PDF is made

    with translation.override("zh-hans"):
        # Who may see it is decided first: a stranger gets "not found", whatever the machine lacks.
        context = certificate_context(certificate=certificate, actor=actor, surface_note="pdf")
        html = render_to_string("volunteers/certificate_pdf.html", context)
    font = font_path()
    page = weasyprint.CSS(
        string=(
            f'@font-face {{ font-family: "CertificateCJK"; src: url("{font.resolve().as_uri()}"); }}\n'
            "@page { size: A4; margin: 18mm; }\n"
            'body { font-family: "CertificateCJK", sans-serif; font-size: 11pt; line-height: 1.6; }'
        )
    )
    sheet = weasyprint.CSS(filename=str(settings.BASE_DIR / "static" / "css" / "certificate.css"))
    return weasyprint.HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf(stylesheets=[sheet, page])
