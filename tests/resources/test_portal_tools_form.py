"""The tool library's button says what it does ("keep one for me" when a copy is free, "join the waiting list"
when none is), and the offer form's boxes and dates are phone-friendly (one tappable row per category, date
pickers, no doubled punctuation after a question)."""

import re

import pytest
from django.urls import reverse

from charity.models import Category
from resources import services
from resources.models import WaitlistEntry
from tests.factories import PersonFactory

from .conftest import SYSTEM, make_tool

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(client, resident):
    client.force_login(resident.user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def test_a_free_copy_is_kept_for_me_and_the_answer_says_so(browser, guanbeigou, resident, hub):
    ladder = make_tool(guanbeigou, title="折叠梯", owner=hub)
    page = browser.get(reverse("resources:tools")).content.decode()
    assert "Keep one for me" in page and "Join the waiting list" not in page
    response = browser.post(reverse("resources:wait", args=[ladder.pk]), follow=True)
    assert "A copy is kept for you: collect it at the loan desk." in response.content.decode()
    assert WaitlistEntry.objects.get(person=resident).status == WaitlistEntry.Status.READY


def test_a_tool_that_is_out_has_a_waiting_list(browser, guanbeigou, resident, hub):
    drill = make_tool(guanbeigou, title="电钻", owner=hub)
    borrower = PersonFactory(name="李师傅", mobile="13900000077", community=guanbeigou)
    services.lend_tool(resource=drill, borrower=borrower, actor=SYSTEM)
    page = browser.get(reverse("resources:tools")).content.decode()
    assert "Join the waiting list" in page and "Keep one for me" not in page
    response = browser.post(reverse("resources:wait", args=[drill.pk]), follow=True)
    assert "You are on the waiting list" in response.content.decode()
    assert WaitlistEntry.objects.get(person=resident).status == WaitlistEntry.Status.WAITING


def test_the_offer_form_has_one_row_per_category_and_date_pickers(browser):
    page = browser.get(reverse("resources:offer")).content.decode()
    first = Category.objects.filter(is_active=True).order_by("pk").first()
    assert re.search(r'<label class="check-row" for="id_categories_0"><input type="checkbox"', page)
    assert f"<span>{first.name}</span>" in page or first.name_en in page
    assert "<label><input" not in page  # no label nested in a label
    assert page.count('type="date"') == 2
    assert "?:" not in page and "？：" not in page
