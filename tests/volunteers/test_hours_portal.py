"""The portal's hours pages: "my hours" (and its "my page" section), self-reporting, privacy, query counts."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from charity import crypto
from tests.factories import OrganizationFactory, PersonFactory, UserFactory
from tests.volunteers.factories import make_record, make_volunteer
from volunteers.models import ServiceRecord

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _both_roots(dalong, guanbeigou):
    guanbeigou.refresh_from_db()


@pytest.fixture
def committee(guanbeigou):
    return OrganizationFactory(name="官北沟社区居委会", type="neighbourhood_committee", area=guanbeigou)


@pytest.fixture
def volunteer(guanbeigou):
    return make_volunteer(
        PersonFactory(name="张志愿", community=guanbeigou, user=UserFactory(username="vol_p1"))
    )


@pytest.fixture
def me(client, volunteer):
    client.force_login(volunteer.person.user)
    return client


def test_pages_need_a_login(client):
    for name in ("my_hours", "report_hours"):
        response = client.get(reverse(f"volunteers:{name}"))
        assert response.status_code == 302 and "login" in response["Location"]


def test_my_hours_counts_only_confirmed_hours_and_shows_each_status(me, volunteer, committee):
    make_record(volunteer, organizer=committee, days_ago=10, hours=2)
    make_record(volunteer, organizer=committee, days_ago=8, hours=1.25)
    make_record(volunteer, organizer=committee, days_ago=6, hours=3, status="submitted")
    make_record(volunteer, organizer=committee, days_ago=4, hours=5, status="rejected")
    page = me.get(reverse("volunteers:my_hours"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "3.25 confirmed hours" in page
    assert "1 record waits for the organiser" in page
    assert "不实" in page  # the reason of the rejection
    me_page = me.get("/me/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "3.25 confirmed hours" in me_page
    id_number = crypto.decrypt(volunteer.id_ciphertext)
    for text in (page, me_page):
        assert id_number not in text and id_number[-4:] not in text


def test_someone_who_is_not_a_volunteer_sees_so(client, guanbeigou):
    person = PersonFactory(community=guanbeigou, user=UserFactory(username="novol1"))
    client.force_login(person.user)
    page = client.get(reverse("volunteers:my_hours"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "not registered as a volunteer" in page
    assert client.get(reverse("volunteers:report_hours")).status_code == 302


def report(client, committee, **extra):
    day = timezone.localdate() - datetime.timedelta(days=1)
    data = {
        "organizer": committee.pk,
        "content": "陪伴独居老人",
        "day": f"{day:%Y-%m-%d}",
        "start": "14:00",
        "end": "16:00",
        "hours": "",
        **extra,
    }
    return client.post(reverse("volunteers:report_hours"), data, HTTP_ACCEPT_LANGUAGE="en")


def test_self_reported_hours_wait_for_the_organiser(me, volunteer, committee):
    response = report(me, committee, hours="1.5")
    assert response.status_code == 302
    record = ServiceRecord.objects.get()
    assert record.source == "self_reported" and record.status == "submitted" and record.minutes == 90
    assert record.organizer == committee and record.community == volunteer.person.community


@pytest.mark.parametrize(
    "extra, message",
    [
        ({"hours": "0"}, "more than 0"),
        ({"hours": "-2"}, "more than 0"),
        ({"hours": "25", "start": "00:00", "end": "23:45"}, "24 hours"),
        ({"hours": "1.1"}, "quarter hours"),
        ({"hours": "3"}, "more than the time between start and end"),
        ({"end": "13:00"}, "end after it starts"),
        ({"day": (timezone.localdate() + datetime.timedelta(days=2)).isoformat()}, "in the future"),
        ({"content": ""}, "required"),
    ],
)
def test_bad_reports_say_why_and_change_nothing(me, committee, extra, message):
    response = report(me, committee, **extra)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ServiceRecord.objects.exists()


def test_overlapping_report_is_refused(me, volunteer, committee):
    assert report(me, committee).status_code == 302
    response = report(me, committee, start="15:00", end="17:00")
    assert response.status_code == 200 and "overlap" in response.content.decode()
    assert ServiceRecord.objects.count() == 1


def test_an_organiser_of_another_community_is_not_offered(me, committee, dalong):
    theirs = OrganizationFactory(name="大龙的组织", area=dalong)
    page = me.get(reverse("volunteers:report_hours")).content.decode()
    assert committee.name in page and theirs.name not in page
    response = report(me, theirs)
    assert response.status_code == 200 and not ServiceRecord.objects.exists()


def test_my_hours_runs_as_many_queries_for_many_rows(me, volunteer, committee, guanbeigou, count_queries):
    def add(n, offset):
        start = timezone.now() - datetime.timedelta(days=600)
        ServiceRecord.objects.bulk_create(
            ServiceRecord(
                volunteer=volunteer,
                organizer=committee,
                community=guanbeigou,
                content="服务",
                started_at=start + datetime.timedelta(hours=2 * (i + offset)),
                ended_at=start + datetime.timedelta(hours=2 * (i + offset) + 1),
                minutes=60,
                source="organiser",
                status="confirmed",
            )
            for i in range(n)
        )

    def show():
        assert me.get(reverse("volunteers:my_hours")).status_code == 200

    add(1, 0)
    show()
    one = count_queries(show)
    add(499, 1)
    show()
    assert count_queries(show) == one


def test_my_data_download_holds_my_records_and_certificates_without_the_id_number(volunteer, committee):
    from charity import my_page

    make_record(volunteer, organizer=committee, days_ago=3, hours=2)
    data = my_page.export_person_data(volunteer.person)
    rows = data["service_hours"]["service_records"]
    assert rows[0]["minutes"] == 120 and rows[0]["organiser"] == committee.name
    assert crypto.decrypt(volunteer.id_ciphertext) not in str(data["service_hours"])
