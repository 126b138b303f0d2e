"""The admin a clerk works in, in Chinese: no English or codes, money in yuan, their own work listed."""

import csv
import datetime
import io
import json
import re

import pytest
from django.utils.html import strip_tags

from charity.models import AuditEvent, Organization, Person
from charity.services import Actor, create_api_key, save_person
from funds import services as fund_services
from tests.factories import FundFactory, OrganizationFactory, PersonFactory

pytestmark = pytest.mark.django_db

CSV_FORMAT = "1"  # position in charity.admin.IMPORT_FORMATS
CODES = re.compile(r"\b[a-z_]+\.[a-z_]+\b")  # donation.posted, funds.donation, account.logged_in …


def text_of(response) -> str:
    return re.sub(r"\s+", " ", strip_tags(response.content.decode()))


def main_text(response) -> str:
    """The page's own content, without the navigation sidebar."""
    html = response.content.decode()
    start = html.find('id="content"')
    return re.sub(r"\s+", " ", strip_tags(html[start:] if start >= 0 else html))


def admin_actor(user):
    return Actor(surface=AuditEvent.Surface.ADMIN, user=user)


@pytest.fixture
def fund(guanbeigou):
    return FundFactory(name="官北沟社区慈善基金", community=guanbeigou)


@pytest.fixture
def donation(fund, community_staff):
    return fund_services.post_donation(
        fund=fund,
        amount_fen=123456,
        channel="business_giveback",
        donor_name="张建国",
        receipt_no="JQ-2026-0001",
        received_on=datetime.date(2026, 3, 1),
        actor=admin_actor(community_staff),
    )


# --- the audit log reads as sentences ------------------------------------------------------------------


def test_audit_log_reads_as_sentences_with_yuan_and_labels(client, community_manager, donation):
    fund_services.refund_donation(
        donation=donation, reason="捐赠人要求退回", actor=admin_actor(community_manager)
    )
    client.force_login(community_manager)
    page = main_text(client.get("/admin/charity/auditevent/"))
    assert "登记捐赠：官北沟社区慈善基金 ¥1,234.56（商业+公益回馈，JQ-2026-0001）" in page, page
    assert "捐赠退款：官北沟社区慈善基金 ¥1,234.56，原因：捐赠人要求退回" in page
    assert not CODES.search(page), CODES.findall(page)
    assert "fen" not in page and "123456" not in page and "business_giveback" not in page


def test_an_audit_event_page_shows_no_code_id_hash_or_json(client, community_manager, guanbeigou):
    org = OrganizationFactory(name="官北沟枢纽", area=guanbeigou, type=Organization.Type.HUB)
    api_key, _key = create_api_key(organization=org, name="个案系统", actor=admin_actor(community_manager))
    event = AuditEvent.objects.get(action="api_key.created")
    client.force_login(community_manager)
    response = client.get(f"/admin/charity/auditevent/{event.pk}/change/")
    page = main_text(response)
    assert "创建 API 密钥：官北沟枢纽：“个案系统”（前缀" in page, page
    assert api_key.pk not in response.content.decode()  # the key's id holds its hash
    assert not CODES.search(page) and "{" not in page


def test_a_person_change_names_the_fields_that_changed(client, community_manager, guanbeigou):
    person = PersonFactory(name="王阿姨", community=guanbeigou, is_leader=False)
    person.is_leader = True
    save_person(person=person, actor=admin_actor(community_manager))
    client.force_login(community_manager)
    page = main_text(client.get("/admin/charity/auditevent/"))
    assert "修改人员信息：王阿姨，修改了：社区能人" in page, page


def test_the_index_lists_the_users_own_recent_work(client, community_staff, donation):
    client.force_login(community_staff)
    mine = text_of(client.get("/admin/")).split("我的区域内其他人的操作")[0]
    assert "登记捐赠：官北沟社区慈善基金 ¥1,234.56" in mine and "暂无" not in mine
    html = client.get("/admin/").content.decode()
    assert f'href="/admin/funds/donation/{donation.pk}/change/"' in html


def test_the_index_shows_a_colleagues_work_apart_from_ones_own(client, community_viewer, donation, outsider):
    client.force_login(community_viewer)
    mine, others = text_of(client.get("/admin/")).split("我的区域内其他人的操作")
    assert "暂无" in mine and "登记捐赠" not in mine  # another's work is not "my actions"
    assert "登记捐赠：官北沟社区慈善基金 ¥1,234.56" in others and "staff_gbg" in others
    client.force_login(outsider)
    assert "官北沟" not in text_of(client.get("/admin/"))  # nor is another community's


# --- API keys --------------------------------------------------------------------------------------------


def test_api_key_screens_are_in_chinese(client, community_manager, guanbeigou):
    org = OrganizationFactory(name="官北沟枢纽", area=guanbeigou, type=Organization.Type.HUB)
    api_key, _key = create_api_key(organization=org, name="个案系统", actor=admin_actor(community_manager))
    client.force_login(community_manager)
    for url in [
        "/admin/charity/organizationapikey/",
        "/admin/charity/organizationapikey/add/",
        f"/admin/charity/organizationapikey/{api_key.pk}/change/",
    ]:
        page = main_text(client.get(url))
        for english in ["Has expired", "Expires", "free-form", "Once API key", "Prefix", "Revoked", "Name"]:
            assert english not in page, (url, english)
    add = main_text(client.get("/admin/charity/organizationapikey/add/"))
    assert "过期时间" in add and "名称" in add


# --- Django's own JavaScript strings ---------------------------------------------------------------------


def test_the_two_box_selector_speaks_chinese(client, community_staff):
    client.force_login(community_staff)
    script = client.get("/admin/jsi18n/").content.decode()
    catalogue = json.loads(re.search(r"const newcatalog = (\{.*?\});", script, re.S).group(1))
    assert catalogue["Choose all %s"] == "全部选择%s"
    assert catalogue["Remove all %s"] == "全部移除%s"
    assert catalogue["Choose selected %s"] == "选择选中的%s"
    assert catalogue["one letter Sunday\x04S"] == "日"


def test_the_two_box_selector_has_no_hold_down_control_hint(client, community_staff, guanbeigou):
    org = OrganizationFactory(area=guanbeigou)
    client.force_login(community_staff)
    page = main_text(client.get(f"/admin/charity/organization/{org.pk}/change/"))
    assert "Control" not in page and "Command" not in page


def test_form_labels_end_with_a_chinese_colon(client, community_staff, guanbeigou):
    client.force_login(community_staff)
    html = client.get("/admin/charity/organization/add/").content.decode()
    assert re.search(r"名称：</label>", html), "the label suffix is the Chinese colon"


# --- spreadsheets: Chinese headers and values, codes accepted --------------------------------------------


def upload(header, rows, name="file.csv"):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    data = io.BytesIO(buffer.getvalue().encode("utf-8"))
    data.name = name
    return data


def import_file(client, model, header, rows):
    response = client.post(
        f"/admin/charity/{model}/import/",
        {"import_file": upload(header, rows), "format": CSV_FORMAT, "resource": "0"},
    )
    assert response.status_code == 200
    form = response.context.get("confirm_form")
    assert form is not None, main_text(response)[-1500:]
    return client.post(f"/admin/charity/{model}/process_import/", form.initial)


def test_people_import_with_chinese_headers_yes_no_and_full_width_plus(client, community_staff, guanbeigou):
    client.force_login(community_staff)
    import_file(
        client,
        "person",
        ["姓名", "手机号码：", "社区", "社区能人"],
        [
            ["王秀英", "＋８６ １３９ ０００ ００００８", "官北沟社区", "是"],
            ["李大爷", "13900000009", "官北沟社区", "否"],
        ],
    )
    wang = Person.objects.get(name="王秀英")
    assert (wang.mobile, wang.community, wang.is_leader) == ("13900000008", guanbeigou, True)
    assert Person.objects.get(name="李大爷").is_leader is False


def test_people_import_still_takes_the_code_names(client, community_staff, guanbeigou):
    client.force_login(community_staff)
    import_file(
        client,
        "person",
        ["name", "mobile", "community", "is_leader"],
        [["王秀英", "+86 139 0000 0008", "官北沟社区", "true"]],
    )
    assert Person.objects.get(mobile="13900000008").is_leader is True


def test_organisation_import_takes_type_labels_or_codes(client, community_staff, guanbeigou):
    client.force_login(community_staff)
    import_file(
        client,
        "organization",
        ["名称", "类型", "所在地", "登记备案状态"],
        [
            ["官北沟读书会", "社区社会组织", "官北沟社区", "已备案"],
            ["官北沟合唱团", "community_group", "官北沟社区", "filed"],
        ],
    )
    assert set(Organization.objects.values_list("type", "registration")) == {("community_group", "filed")}


def test_a_wrong_type_is_refused_naming_the_choices(client, community_staff, guanbeigou):
    client.force_login(community_staff)
    response = client.post(
        "/admin/charity/organization/import/",
        {
            "import_file": upload(["名称", "类型", "所在地"], [["官北沟读书会", "读书会", "官北沟社区"]]),
            "format": CSV_FORMAT,
            "resource": "0",
        },
    )
    page = main_text(response)
    assert "“读书会”不是可选值之一" in page and "社区社会组织" in page
    assert response.context.get("confirm_form") is None and not Organization.objects.exists()


def test_people_export_has_chinese_headers_and_yes_no(client, community_manager, guanbeigou):
    from django.contrib.auth.models import Permission

    community_manager.user_permissions.add(Permission.objects.get(codename="export_personal_data"))
    PersonFactory(name="王阿姨", mobile="13900000008", community=guanbeigou, is_leader=True)
    client.force_login(community_manager)
    response = client.post(
        "/admin/charity/person/export/",
        {"format": CSV_FORMAT, "resource": "0"}
        | {f"personresource_{f}": "on" for f in ("name", "mobile", "community", "is_leader")},
    )
    header, row = response.content.decode("utf-8-sig").splitlines()
    assert header == "姓名,手机号码,社区,社区能人"
    assert row == "王阿姨,13900000008,官北沟社区,是"


def test_organisation_export_shows_type_and_registration_labels(client, community_staff, guanbeigou):
    OrganizationFactory(name="官北沟读书会", area=guanbeigou, type="community_group", registration="filed")
    client.force_login(community_staff)
    response = client.post(
        "/admin/charity/organization/export/",
        {"format": CSV_FORMAT, "resource": "0"}
        | {f"organizationresource_{f}": "on" for f in ("name", "type", "registration")},
    )
    assert response.content.decode("utf-8-sig").splitlines() == [
        "名称,类型,登记备案状态",
        "官北沟读书会,社区社会组织,已备案",
    ]


def test_the_import_page_lists_the_chinese_headers_to_type(client, community_staff):
    client.force_login(community_staff)
    page = main_text(client.get("/admin/charity/person/import/"))
    assert "姓名, 手机号码, 社区, 社区能人" in page or "姓名，手机号码，社区，社区能人" in page, page
    assert "记录编号" not in page  # exported, never read back
    assert "是/否" in page


def test_the_audit_log_names_its_records_in_as_many_queries_for_many_events_as_for_one(
    client, community_manager, fund, count_queries
):
    def give(i):
        fund_services.post_donation(
            fund=fund,
            amount_fen=100 + i,
            channel="resident",
            receipt_no=f"R-{i}",
            received_on=datetime.date(2026, 3, 1),
            actor=admin_actor(community_manager),
        )

    def show():
        assert client.get("/admin/charity/auditevent/").status_code == 200

    client.force_login(community_manager)
    give(0)
    show()  # warm up
    one = count_queries(show)
    for i in range(1, 30):
        give(i)
    assert count_queries(show) == one


def test_every_kind_of_event_reads_without_its_code_or_fen():
    from django.utils import translation

    from charity.audit_display import describe
    from charity.models import AuditAction

    events = [
        AuditEvent(
            action=action, surface="admin", summary="官北沟社区慈善基金: 5000 fen", data={"amount_fen": 5000}
        )
        for action in AuditAction
    ]
    with translation.override("zh-hans"):
        for event in describe(events):
            assert event.action not in event.sentence and "fen" not in event.sentence, event.sentence
            assert str(event.get_action_display()) in event.sentence
