"""Real concurrency on PostgreSQL: volunteer numbers stay unique, and one ID number registers once."""

import pytest

from charity.services import Actor
from tests.concurrency import at_once
from tests.factories import PersonFactory, community
from tests.volunteers.factories import valid_resident_id
from volunteers import services
from volunteers.models import Volunteer

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SYSTEM = Actor(surface="command")


def register(person, number):
    return services.register_volunteer(
        person=person, id_type="resident_id", id_number=number, source="staff", actor=SYSTEM
    )


def test_twenty_registrations_at_once_get_twenty_different_numbers():
    here = community()
    people = [PersonFactory(community=here) for _ in range(20)]
    outcomes = at_once(
        [lambda p=p, i=i: register(p, valid_resident_id(serial=i)) for i, p in enumerate(people)]
    )
    assert outcomes == ["Volunteer"] * 20
    numbers = sorted(Volunteer.objects.values_list("number", flat=True))
    assert len(set(numbers)) == 20
    assert [int(n[-6:]) for n in numbers] == list(range(1, 21))


def test_the_same_id_number_at_once_registers_once():
    here = community()
    people = [PersonFactory(community=here) for _ in range(5)]
    number = valid_resident_id(serial=7)
    outcomes = at_once([lambda p=p: register(p, number) for p in people])
    assert outcomes == ["Volunteer"] + ["duplicate_id_number"] * 4
    assert Volunteer.objects.count() == 1
