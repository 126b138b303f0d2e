from charity import demo as core_demo
from charity.models import AuditEvent, Person
from governance import demo
from governance.models import Committee, Membership
from governance.selectors import composition_issues
from tests.factories import FundFactory


def test_seed_is_idempotent_and_gives_the_intended_compositions(guanbeigou, dalong):
    FundFactory(name="官北沟社区慈善基金", community=guanbeigou)
    FundFactory(name="大龙社区慈善基金", community=dalong)
    core_demo.seed()  # the organisations members represent
    demo.seed()
    counts = (
        Committee.objects.count(),
        Membership.objects.count(),
        Person.objects.count(),
        AuditEvent.objects.count(),
    )
    demo.seed()
    assert (
        Committee.objects.count(),
        Membership.objects.count(),
        Person.objects.count(),
        AuditEvent.objects.count(),
    ) == counts
    assert counts[0] == 2
    gbg = Committee.objects.get(fund__community=guanbeigou)
    assert composition_issues(gbg) == []
    voting = [m for m in gbg.memberships.all() if m.is_voting]
    assert len(voting) % 2 == 1 and len(voting) >= 5
    members = list(gbg.memberships.select_related("person", "organization"))
    assert all(m.person.community_id == guanbeigou.pk for m in members)
    # Seven of eight represent an organisation; the category is the organisation's.
    assert sum(m.organization is not None for m in members) == 7
    assert {m.organization.name: m.category for m in members if m.organization}[
        "示例街道办事处"
    ] == "street_office"
    dl = Committee.objects.get(fund__community=dalong)
    assert composition_issues(dl) == []  # a real community's committee meets the rules


def test_seed_skips_a_missing_fund(guanbeigou):
    FundFactory(name="官北沟社区慈善基金", community=guanbeigou)
    demo.seed()
    assert list(Committee.objects.values_list("fund__name", flat=True)) == ["官北沟社区慈善基金"]
