"""Browser tests share one clean-up of the live server's database sessions."""

import pytest
from django.db import connection


@pytest.fixture(scope="session", autouse=True)
def _end_live_server_sessions(django_db_setup, django_db_blocker):
    """At the end of the run, end the database sessions the live server's request threads left behind.

    A request thread that ends when the browser drops its keep-alive socket can leave its connection open;
    PostgreSQL then refuses to drop the test database at the end of the run. Ended once, after the last test:
    ended after each test, they took the next test's own connection with them (it may be another wrapper
    than the one this code sees), and every browser test after the first failed on PostgreSQL.
    """
    yield
    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
