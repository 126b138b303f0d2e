"""The defaults never exhaust PostgreSQL's connection slots, whatever the server (docs/database.md)."""

import http.client
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from charity.services import Actor, create_api_key

ROOT = Path(__file__).resolve().parent.parent.parent


def database_settings(**env) -> dict:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_")}
    environ.update(DATABASE_URL="postgres://u:p@127.0.0.1:9/charity", **env)  # no connection is made
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        "print(json.dumps(settings.DATABASES['default'], default=str))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**environ, "DJANGO_SETTINGS_MODULE": "charity.settings"},
        capture_output=True,
        text=True,
    )
    if result.returncode:
        return {"error": result.stderr}
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_by_default_a_request_closes_its_connection():
    settings = database_settings()
    assert settings["CONN_MAX_AGE"] == 0
    assert "pool" not in settings.get("OPTIONS", {})


def test_a_pool_size_uses_psycopgs_pool_with_that_many_connections_at_most():
    settings = database_settings(DATABASE_POOL_SIZE="8")
    assert settings["OPTIONS"]["pool"]["max_size"] == 8
    assert settings["CONN_MAX_AGE"] == 0


def test_a_persistent_connection_age_can_be_chosen_for_sync_workers():
    assert database_settings(DATABASE_CONN_MAX_AGE="60")["CONN_MAX_AGE"] == 60


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DATABASE_POOL_SIZE": "8", "DATABASE_CONN_MAX_AGE": "60"}, "exclude each other"),
        ({"DATABASE_POOL_SIZE": "-1"}, "0 or more"),
        ({"DATABASE_POOL_SIZE": "many"}, "DATABASE_POOL_SIZE must be a whole number"),
    ],
)
def test_contradictory_or_malformed_connection_settings_stop_the_app(env, message):
    assert message in database_settings(**env)["error"]


def other_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_threaded_server_does_not_keep_a_connection_per_client(live_server, hub):
    """The live server is runserver's threaded server: a thread per client connection, kept while the
    client keeps the connection alive (HTTP/1.1), as browsers and API clients do."""
    _api_key, key = create_api_key(organization=hub, name="conn", actor=Actor.system())
    before = other_connections()
    host, port = live_server.thread.host, live_server.thread.port
    clients = [http.client.HTTPConnection(host, port, timeout=10) for _ in range(20)]
    try:
        for client in clients:
            client.request("GET", "/api/v1/areas/", headers={"Authorization": f"Api-Key {key}"})
            response = client.getresponse()
            response.read()
            assert response.status == 200
        held = other_connections() - before
    finally:
        for client in clients:
            client.close()
    assert held <= 2, f"{held} database connections held by 20 idle HTTP clients"
