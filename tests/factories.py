"""factory-boy factories. Areas are built through treebeard (add_root / add_child), never by hand."""

import datetime

import factory
from django.contrib.auth import get_user_model

from charity.models import Area, Organization, Person, StaffAssignment
from funds.models import Fund


def make_area_chain(*names_levels):
    """Build (or reuse) a chain like ("广州市", "city"), ("番禺区", "district"), ...; return the last node."""
    node, created = None, False
    for name, level in names_levels:
        existing = None
        if not created:  # a node made just now has no children to look among
            parent_qs = Area.objects.get_root_nodes() if node is None else Area.objects.get_children(node)
            existing = parent_qs.filter(name=name).first()
        created = existing is None
        if created:
            kwargs = {"name": name, "level": level}
            existing = Area.objects.add_root(kwargs) if node is None else Area.objects.add_child(node, kwargs)
        node = existing
    return node


def community(city="测试市", district="测试区", street="测试街道", name="测试社区"):
    return make_area_chain((city, "city"), (district, "district"), (street, "street"), (name, "community"))


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("correct-horse-battery")
    is_staff = False


class StaffUserFactory(UserFactory):
    is_staff = True


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"组织{n}")
    type = Organization.Type.COMMUNITY_GROUP
    area = factory.LazyFunction(community)


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    name = factory.Sequence(lambda n: f"居民{n}")
    mobile = factory.Sequence(lambda n: f"139{n:08d}")
    community = factory.LazyFunction(community)


class FundFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Fund

    name = factory.Sequence(lambda n: f"社区慈善基金{n}")
    community = factory.LazyFunction(community)
    parent = None
    # A named fund is held by its parent's host (funds.models.Fund.clean).
    host = factory.LazyAttribute(
        lambda o: (
            o.parent.host
            if o.parent is not None
            else OrganizationFactory(
                type=Organization.Type.CHARITY_FEDERATION, area=Area.objects.get_parent(o.community)
            )
        )
    )
    opened_on = datetime.date(2025, 1, 1)


def assign(user, area, role=StaffAssignment.Role.STAFF):
    StaffAssignment.objects.create(user=user, area=area, role=role)
    for attr in [a for a in vars(user) if a.startswith("_scope_")]:
        delattr(user, attr)
    return user
