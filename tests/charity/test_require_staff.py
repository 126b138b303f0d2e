"""charity.services.require_staff: the one check the apps' services use for "staff of this area"."""

import pytest

from charity.errors import ForbiddenError, NotFoundError
from charity.models import AuditEvent, Organization, StaffAssignment
from charity.services import Actor, require_staff
from tests.factories import OrganizationFactory, StaffUserFactory, UserFactory, assign

ADMIN = AuditEvent.Surface.ADMIN


def staff(area, role=StaffAssignment.Role.STAFF):
    return Actor(surface=ADMIN, user=assign(StaffUserFactory(), area, role))


def key_of(area, served):
    org = OrganizationFactory(type=Organization.Type.HUB, area=area)
    org.served_areas.add(served)
    return Actor(surface=AuditEvent.Surface.API, organization=org)


def test_who_passes(dalong, guanbeigou):
    require_staff(Actor.system(), guanbeigou)
    require_staff(staff(guanbeigou), guanbeigou)
    require_staff(Actor(surface=ADMIN, user=UserFactory(is_superuser=True)), guanbeigou)
    require_staff(staff(guanbeigou, StaffAssignment.Role.VIEWER), guanbeigou, StaffAssignment.Role.VIEWER)


@pytest.mark.parametrize(
    ("who", "error"),
    [
        ("viewer here", ForbiddenError),
        ("staff elsewhere", NotFoundError),
        ("key serving here", ForbiddenError),
        ("key serving elsewhere", NotFoundError),
        ("no one", NotFoundError),
    ],
)
def test_who_is_refused_and_how(dalong, guanbeigou, who, error):
    actor = {
        "viewer here": lambda: staff(guanbeigou, StaffAssignment.Role.VIEWER),
        "staff elsewhere": lambda: staff(dalong),
        "key serving here": lambda: key_of(guanbeigou, guanbeigou),
        "key serving elsewhere": lambda: key_of(dalong, dalong),
        "no one": lambda: Actor(surface=AuditEvent.Surface.PORTAL, user=UserFactory()),
    }[who]()
    with pytest.raises(error):
        require_staff(actor, guanbeigou)
