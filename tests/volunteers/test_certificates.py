"""Certificates: the printable page, the PDF (opens, four blocks, totals, font embedded), verification."""

import io
import shutil
import subprocess

import pytest
from django.urls import reverse

from charity import crypto
from charity.models import AuditAction, AuditEvent, Organization
from charity.services import Actor
from tests.factories import OrganizationFactory, PersonFactory, UserFactory
from tests.volunteers.factories import make_record, make_volunteer
from volunteers import certificates, services

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _both_roots(dalong, guanbeigou):
    guanbeigou.refresh_from_db()


@pytest.fixture
def committee(guanbeigou):
    return OrganizationFactory(
        name="官北沟社区居委会", type=Organization.Type.NEIGHBOURHOOD_COMMITTEE, area=guanbeigou
    )


@pytest.fixture
def volunteer(guanbeigou):
    user = UserFactory(username="vol_cert1")
    return make_volunteer(PersonFactory(name="张志愿", community=guanbeigou, user=user))


@pytest.fixture
def certificate(volunteer, committee, community_staff):
    records = [
        make_record(volunteer, organizer=committee, days_ago=40, hours=2, content="陪伴独居老人"),
        make_record(volunteer, organizer=committee, days_ago=12, hours=3.25, content="一起·公益集市"),
    ]
    return services.issue_certificate(
        volunteer=volunteer,
        issuer=committee,
        records=records,
        person_in_charge="李主任",
        handler="王社工",
        contact="0937-1234567",
        actor=Actor(surface=AuditEvent.Surface.ADMIN, user=community_staff),
    )


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


@pytest.mark.pdf
def test_pdf_opens_with_the_four_blocks_and_the_totals(client, volunteer, certificate):
    client.force_login(volunteer.person.user)
    response = client.get(reverse("volunteers:certificate_pdf", args=[certificate.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    data = response.content
    assert data.startswith(b"%PDF")
    text = pdf_text(data)
    id_number = crypto.decrypt(volunteer.id_ciphertext)
    for expected in (
        "张志愿",
        id_number,
        volunteer.number,  # the volunteer
        "陪伴独居老人",
        "一起·公益集市",
        "5.25",  # the service: content and total hours (2 + 3.25)
        "官北沟社区居委会",
        "李主任",
        "王社工",
        "0937-1234567",  # the issuer
        certificate.number,
        f"{certificate.issued_on:%Y-%m-%d}",  # number and date
        f"{certificate.first_date:%Y-%m-%d}",
        f"{certificate.last_date:%Y-%m-%d}",
    ):
        assert expected in text, expected
    assert AuditEvent.objects.filter(action=AuditAction.CERTIFICATE_PRINTED).count() == 1


@pytest.mark.pdf
@pytest.mark.skipif(shutil.which("pdffonts") is None, reason="poppler-utils not installed")
def test_pdf_embeds_its_cjk_font(client, volunteer, certificate, tmp_path):
    client.force_login(volunteer.person.user)
    path = tmp_path / "c.pdf"
    path.write_bytes(client.get(reverse("volunteers:certificate_pdf", args=[certificate.pk])).content)
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    rows = fonts.splitlines()[2:]
    assert rows and all(" yes " in row for row in rows), fonts  # every font embedded


def test_missing_font_is_a_clear_configuration_error(settings, volunteer, certificate):
    settings.CERTIFICATE_FONT_PATH = "/nowhere/font.ttc"
    with pytest.raises(certificates.CertificateFontMissing, match="CERTIFICATE_FONT_PATH"):
        certificates.render_pdf(
            certificate=certificate,
            actor=Actor(surface=AuditEvent.Surface.PORTAL, user=volunteer.person.user),
        )


def test_without_the_font_the_pdf_link_says_to_print_the_page(settings, client, volunteer, certificate):
    settings.CERTIFICATE_FONT_PATH = "/nowhere/font.ttc"
    client.force_login(volunteer.person.user)
    response = client.get(reverse("volunteers:certificate_pdf", args=[certificate.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("volunteers:certificate", args=[certificate.pk])
    assert "print this page" in response.content.decode() or "打印本页" in response.content.decode()


def test_printable_page_for_the_volunteer_and_not_for_others(client, volunteer, certificate):
    url = reverse("volunteers:certificate", args=[certificate.pk])
    client.force_login(volunteer.person.user)
    page = client.get(url).content.decode()
    assert certificate.number in page and "张志愿" in page and "5.25" in page
    assert crypto.decrypt(volunteer.id_ciphertext) in page
    stranger = PersonFactory(community=volunteer.person.community, user=UserFactory(username="nosy_c"))
    client.force_login(stranger.user)
    assert client.get(url).status_code == 404
    assert client.get(reverse("volunteers:certificate_pdf", args=[certificate.pk])).status_code == 404


def test_printable_page_for_staff_masks_the_id_without_the_permission(
    client, volunteer, certificate, community_staff, outsider
):
    url = reverse("volunteers:certificate", args=[certificate.pk])
    client.force_login(community_staff)
    page = client.get(url).content.decode()
    id_number = crypto.decrypt(volunteer.id_ciphertext)
    assert certificate.number in page and id_number not in page and id_number[-4:] in page
    client.force_login(outsider)
    assert client.get(url).status_code == 404


def verify(client, number, **extra):
    return client.get(reverse("volunteers:certificate_verify"), {"number": number}, **extra)


def test_verification_of_a_genuine_certificate_shows_only_the_public_facts(client, volunteer, certificate):
    response = verify(client, certificate.number.lower())  # typed in lower case
    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="verify-genuine"' in page
    assert volunteer.number in page and "官北沟社区居委会" in page and "5.25" in page
    assert f"{certificate.first_date:%Y-%m-%d}" in page
    id_number = crypto.decrypt(volunteer.id_ciphertext)
    for private in ("张志愿", id_number, id_number[-4:], "李主任", "王社工", "0937-1234567", "陪伴独居老人"):
        assert private not in page, private


def test_verification_of_a_revoked_certificate_says_so(client, certificate, community_staff):
    services.revoke_certificate(
        certificate=certificate,
        reason="时长登记错误",
        actor=Actor(surface=AuditEvent.Surface.ADMIN, user=community_staff),
    )
    page = verify(client, certificate.number).content.decode()
    assert 'id="verify-revoked"' in page and 'id="verify-genuine"' not in page
    assert "时长登记错误" not in page


def test_verification_of_a_made_up_number(client, certificate):
    prefix, _check = certificate.number.rsplit("-", 1)
    for made_up in (f"{prefix}-ABCDEF", "2026-0001-00001-XXXXXX", "<script>"):
        response = verify(client, made_up, HTTP_ACCEPT_LANGUAGE="en")
        page = response.content.decode()
        assert response.status_code == 200
        assert 'id="verify-none"' in page and "no such certificate" in page
        assert "<script>" not in page.split("<main>")[1]


def test_verification_is_rate_limited_per_address(client, settings, certificate):
    from volunteers.views import hours as views

    for _ in range(views.VERIFY_LIMIT):
        assert verify(client, "2026-0001-00001-AAAAAA").status_code == 200
    limited = verify(client, certificate.number)
    assert limited.status_code == 429
    assert 'id="verify-genuine"' not in limited.content.decode()


def test_verification_form_without_a_number(client):
    assert client.get(reverse("volunteers:certificate_verify")).status_code == 200


@pytest.mark.pdf
def test_no_id_number_in_any_log_line(client, caplog, volunteer, certificate, community_staff):
    import logging

    id_number = crypto.decrypt(volunteer.id_ciphertext)
    with caplog.at_level(logging.DEBUG):
        client.force_login(volunteer.person.user)
        client.get(reverse("volunteers:certificate", args=[certificate.pk]))
        client.get(reverse("volunteers:certificate_pdf", args=[certificate.pk]))
        client.get(reverse("volunteers:my_hours"))
        verify(client, certificate.number)
        verify(client, id_number)  # someone types an ID number into the form: not logged either
    assert id_number not in caplog.text
    events = AuditEvent.objects.filter(action=AuditAction.CERTIFICATE_PRINTED)
    assert events.count() == 2
    assert all(id_number not in str(e.data) and id_number not in e.summary for e in events)
