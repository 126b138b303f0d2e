"""Personas (STYLE.md): community staff, street staff, committee member, resident, hub organisation with an
API key, and an outsider from another community. Service markers skip with a reason when absent."""

import os
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from charity.models import Area, Organization, StaffAssignment
from charity.services import Actor, create_api_key
from tests import database_template
from tests.factories import (
    OrganizationFactory,
    PersonFactory,
    StaffUserFactory,
    UserFactory,
    assign,
    community,
)


def available_services() -> dict[str, bool]:
    return {
        "postgres": settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
        "redis": bool(os.environ.get("REDIS_URL")),
        "browser": os.path.exists(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")),
        "pdf": _can_make_pdfs(),
    }


def _can_make_pdfs() -> bool:
    """Certificate PDFs need WeasyPrint's pango and the CJK font of settings.CERTIFICATE_FONT_PATH."""
    if not os.path.exists(settings.CERTIFICATE_FONT_PATH):
        return False
    try:
        import weasyprint  # noqa: F401  (loads pango)
    except OSError:
        return False
    return True


def pytest_configure(config):
    # CI sets REQUIRE_SERVICES so that a missing service fails the run instead of skipping quietly. Checked
    # here, before collection: under pytest-xdist the main process stops the run before any worker starts.
    required = {s.strip() for s in os.environ.get("REQUIRE_SERVICES", "").split(",") if s.strip()}
    available = available_services()
    missing = sorted(s for s in required if not available.get(s, False))
    if missing:
        raise pytest.UsageError(f"REQUIRE_SERVICES lists {', '.join(missing)}, which this run does not have")
    _own_redis_database_per_worker()
    database_template.install()


def _own_redis_database_per_worker():
    """Under pytest-xdist, worker N keeps its cache (and a real Celery worker's broker) in Redis database
    REDIS_URL's + N. Each test empties the cache (FLUSHDB): in one shared database, one worker's tests would
    empty the other's throttle counters and cached pages, or read pages cached from the other's database.
    PostgreSQL needs nothing of the kind: pytest-django gives each worker its own test database."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not (worker.startswith("gw") and settings.REDIS_URL):
        return
    parts = urlsplit(settings.REDIS_URL)
    database = int(parts.path.strip("/") or 0) + int(worker[2:])
    if database >= 16:
        raise pytest.UsageError(
            f"pytest-xdist worker {worker} would use Redis database {database}, past Redis's 16: "
            "give REDIS_URL a lower database number or run fewer workers (make test PYTEST_WORKERS=2)"
        )
    url = urlunsplit(parts._replace(path=f"/{database}"))
    from django.test.signals import clear_cache_handlers

    from charity.celery import app as celery_app

    settings.REDIS_URL = settings.CELERY_BROKER_URL = settings.CELERY_RESULT_BACKEND = url
    settings.CACHES = {**settings.CACHES, "default": {**settings.CACHES["default"], "LOCATION": url}}
    clear_cache_handlers(setting="CACHES")
    celery_app.conf.update(broker_url=url, result_backend=url)


def pytest_collection_modifyitems(config, items):
    reasons = {
        "postgres": "needs PostgreSQL: set DATABASE_URL=postgres://…",
        "redis": "needs Redis: set REDIS_URL=redis://…",
        "browser": "needs Chromium at /usr/bin/chromium (apt-get install chromium)",
        "pdf": "needs pango and the CJK font of CERTIFICATE_FONT_PATH (apt-get install fonts-noto-cjk)",
    }
    available = available_services()
    for item in items:
        for service, ok in available.items():
            if service in item.keywords and not ok:
                item.add_marker(pytest.mark.skip(reason=reasons[service]))


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hasher():
    """Hash passwords with MD5 in tests: PBKDF2's million rounds took most of the suite's time.

    Tests only; production keeps Django's default (tests/charity/test_settings.py checks it)."""
    from django.test import override_settings

    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True, scope="session")
def _api_answers_not_cached():
    """API answers are computed afresh in tests: most tests write rows with factories, which record no
    audit event and so would not be seen behind a cached answer. tests/test_api_cache.py turns it on."""
    from django.test import override_settings

    with override_settings(API_CACHE_SECONDS=0):
        yield


@pytest.fixture(autouse=True, scope="session")
def _flush_past_append_only_triggers():
    """Let the test runner empty the append-only tables on SQLite after a test that commits.

    PostgreSQL empties them with TRUNCATE, which fires no row trigger; SQLite with DELETE, which the
    triggers refuse. So each flush drops them and re-creates them from their own SQL, in the flush's
    transaction: a failed flush leaves them in place. Only the tests do this (docs/append-only.md).
    """
    from django.db import transaction
    from django.db.backends.sqlite3.base import DatabaseWrapper

    DatabaseOperations = DatabaseWrapper.ops_class
    original = DatabaseOperations.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        with transaction.atomic(using=self.connection.alias), self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND sql LIKE '%append-only%'"
            )
            triggers = cursor.fetchall()
            for name, _sql in triggers:
                cursor.execute(f'DROP TRIGGER "{name}"')
            original(self, sql_list)
            for _name, sql in triggers:
                cursor.execute(sql)

    DatabaseOperations.execute_sql_flush = execute_sql_flush
    yield
    DatabaseOperations.execute_sql_flush = original


def clear_caches():
    """What one test must not pass to the next: throttling counters and cached pages, and a key verified in
    another test's database. The scope table calls it before each of its cases."""
    from django.core.cache import cache

    from charity.api_auth import verified_keys

    cache.clear()
    verified_keys.clear()


@pytest.fixture(autouse=True)
def _clear_cache():
    clear_caches()
    yield


@pytest.fixture(autouse=True)
def _eager_celery():
    """Tasks run in-process in every test, even with REDIS_URL set: no test leaves work on a real broker.

    The test that starts a real worker switches this off for itself.
    """
    from charity.celery import app

    saved = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = saved


class Phone:
    """The messages residents' phones received (charity.messaging.MemoryBackend), and the codes in them."""

    def __init__(self, capture):
        from charity.messaging import MemoryBackend

        self.sent = MemoryBackend.sent
        self._capture = capture

    def post(self, client, url, data, **kwargs):
        """POST, then run what waits for the commit (the delivery task), as in production."""
        with self._capture(execute=True):
            return client.post(url, data, **kwargs)

    def messages(self, mobile):
        return [text for to, text in self.sent if to == mobile]

    def last_code(self, mobile):
        import re

        for text in reversed(self.messages(mobile)):
            if match := re.search(r"(?<!\d)(\d{6})(?!\d)", text):
                return match[1]
        raise AssertionError(f"no code was sent to {mobile}")


@pytest.fixture
def phone(settings, django_capture_on_commit_callbacks):
    from charity.messaging import MemoryBackend

    settings.MESSAGE_BACKEND = "charity.messaging.MemoryBackend"
    MemoryBackend.sent.clear()
    yield Phone(django_capture_on_commit_callbacks)
    MemoryBackend.sent.clear()


@pytest.fixture
def count_queries():
    """`count_queries(fn)`: how many database queries `fn()` runs. A list page or endpoint runs as many for
    many rows as for one (DESIGN.md §5): compare the two counts for equality, not under a loose cap."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count(fn) -> int:
        with CaptureQueriesContext(connection) as queries:
            fn()
        return len(queries)

    return count


@pytest.fixture
def english():
    """Assert on the English source messages (the default language is Chinese)."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture
def guanbeigou(db):
    return community("酒泉市", "肃州区", "示例街道", "官北沟社区")


@pytest.fixture
def dalong(db):
    return community("广州市", "番禺区", "石碁镇", "大龙社区")


@pytest.fixture
def street(guanbeigou):
    return Area.objects.get_parent(guanbeigou)


@pytest.fixture
def community_staff(guanbeigou):
    return assign(StaffUserFactory(username="staff_gbg"), guanbeigou, StaffAssignment.Role.STAFF)


@pytest.fixture
def community_viewer(guanbeigou):
    return assign(StaffUserFactory(username="viewer_gbg"), guanbeigou, StaffAssignment.Role.VIEWER)


@pytest.fixture
def community_manager(guanbeigou):
    return assign(StaffUserFactory(username="manager_gbg"), guanbeigou, StaffAssignment.Role.MANAGER)


@pytest.fixture
def street_staff(street):
    return assign(StaffUserFactory(username="staff_street"), street, StaffAssignment.Role.MANAGER)


@pytest.fixture
def outsider(dalong):
    """Staff of another community."""
    return assign(StaffUserFactory(username="staff_dalong"), dalong, StaffAssignment.Role.MANAGER)


@pytest.fixture
def resident(guanbeigou):
    user = UserFactory(username="rwangayi01")  # opaque, as every resident's: they log in by mobile number
    return PersonFactory(name="王阿姨", mobile="13900000001", community=guanbeigou, user=user)


@pytest.fixture
def committee_member(guanbeigou):
    return PersonFactory(name="李委员", community=guanbeigou)


@pytest.fixture
def hub(guanbeigou):
    org = OrganizationFactory(name="祯祥社", type=Organization.Type.HUB, area=guanbeigou)
    org.served_areas.add(guanbeigou)
    return org


@pytest.fixture
def hub_key(hub):
    _api_key, key = create_api_key(organization=hub, name="hub system", actor=Actor.system())
    return key


@pytest.fixture
def outside_org_key(dalong):
    org = OrganizationFactory(name="大龙枢纽", type=Organization.Type.HUB, area=dalong)
    org.served_areas.add(dalong)
    _api_key, key = create_api_key(organization=org, name="other", actor=Actor.system())
    return key


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def hub_api(hub_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {hub_key}")
    return client
