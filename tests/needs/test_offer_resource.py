""" "I can help" with one of my own resources: the portal form offers the person's own available resources
only; someone else's, a used-up or a withdrawn one is refused with a message and nothing is written."""

import copy

import pytest
from django.utils import timezone

from charity.models import AuditEvent
from charity.services import Actor
from needs.models import Offer
from resources import services as resource_services
from resources.models import Resource

pytestmark = pytest.mark.django_db


def offer_resource(owner, community, title="20床棉被", **extra):
    return resource_services.offer_resource(
        actor=Actor.system(),
        owner_person=owner,
        community=community,
        kind=extra.pop("kind", Resource.Kind.GOODS),
        title=title,
        quantity=extra.pop("quantity", 20),
        available_from=timezone.localdate(),
        **extra,
    )


@pytest.fixture
def helper_client(client, helper):
    client.force_login(helper.user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def test_the_form_lists_my_own_available_resources_only(helper_client, published_need, helper, resident):
    guanbeigou = published_need.community
    mine = offer_resource(helper, guanbeigou, "我的棉被")
    gone = offer_resource(helper, guanbeigou, "已送完的米")
    resource_services.set_resource_status(resource=gone, status="withdrawn", actor=Actor.system())
    offer_resource(resident, guanbeigou, "别人的电钻", kind=Resource.Kind.TOOL, quantity=1)
    page = helper_client.get(f"/needs/{published_need.pk}/")
    choices = page.context["form"].fields["resource"].queryset
    assert list(choices) == [mine]
    text = page.content.decode()
    assert "我的棉被" in text and "已送完的米" not in text and "别人的电钻" not in text


def test_i_can_help_with_one_of_my_resources(helper_client, published_need, helper, resident):
    mine = offer_resource(helper, published_need.community)
    response = helper_client.post(
        f"/needs/{published_need.pk}/offer/", {"message": "周六送来", "resource": mine.pk}
    )
    assert response.status_code == 302
    offer = Offer.objects.get()
    assert offer.resource == mine and offer.offered_by == helper
    # The offerer sees it on "my offers", the poster on "my needs" (with what is offered).
    assert "20床棉被" in helper_client.get("/me/").content.decode()
    helper_client.force_login(resident.user)
    assert "20床棉被" in helper_client.get("/me/").content.decode()


def test_without_resources_the_form_has_no_empty_list(helper_client, published_need):
    page = helper_client.get(f"/needs/{published_need.pk}/")
    assert "resource" not in page.context["form"].fields
    assert 'name="resource"' not in page.content.decode()
    assert helper_client.post(f"/needs/{published_need.pk}/offer/", {"message": "我来"}).status_code == 302
    assert Offer.objects.get().resource is None


@pytest.mark.parametrize("which", ["someone_elses", "withdrawn", "used_up", "missing", "not_a_number"])
@pytest.mark.parametrize("has_own", [True, False])
def test_someone_elses_or_a_used_up_resource_is_refused(
    helper_client, published_need, helper, resident, which, has_own
):
    community = published_need.community
    if has_own:
        offer_resource(helper, community, "我的棉被")
    value = {
        "someone_elses": lambda: offer_resource(resident, community, "别人的棉被").pk,
        "withdrawn": lambda: _moved(offer_resource(helper, community, "撤回的"), "withdrawn"),
        "used_up": lambda: _moved(offer_resource(helper, community, "用完的"), "used_up"),
        "missing": lambda: 987654,
        "not_a_number": lambda: "abc",
    }[which]()
    before = AuditEvent.objects.count()
    response = helper_client.post(
        f"/needs/{published_need.pk}/offer/", {"message": "我来", "resource": value}
    )
    assert response.status_code == 400
    assert "Choose one of your own resources that is still available." in response.content.decode()
    assert Offer.objects.count() == 0 and AuditEvent.objects.count() == before


def _moved(resource, status):
    resource_services.set_resource_status(resource=resource, status=status, actor=Actor.system())
    return resource.pk


def test_a_resource_used_up_between_the_page_and_the_click_is_refused_by_the_service(
    helper_client, published_need, helper, monkeypatch
):
    """The form read it as available; the service reads it again and refuses (no offer, a message)."""
    from needs import forms

    mine = offer_resource(helper, published_need.community)
    real_init = forms.OfferForm.__init__

    def stale_init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        self.fields["resource"] = copy.deepcopy(forms.OfferForm.base_fields["resource"])
        self.fields["resource"].queryset = Resource.objects.all()

    monkeypatch.setattr(forms.OfferForm, "__init__", stale_init)
    Resource.objects.filter(pk=mine.pk).update(status=Resource.Status.USED_UP)
    response = helper_client.post(f"/needs/{published_need.pk}/offer/", {"resource": mine.pk})
    assert response.status_code == 400
    assert "still available" in response.content.decode()
    assert not Offer.objects.exists()


def test_the_download_names_the_resource_offered(helper_client, published_need, helper):
    mine = offer_resource(helper, published_need.community)
    helper_client.post(f"/needs/{published_need.pk}/offer/", {"resource": mine.pk})
    data = helper_client.get("/me/data/")
    body = b"".join(data.streaming_content) if data.streaming else data.content
    assert '"title": "20床棉被"' in body.decode() or "20床棉被" in body.decode()
