"""The production stack (docker-compose.yml + Dockerfile) refers only to things that exist."""

import ast
import importlib
import importlib.util
import re
import shlex
from pathlib import Path

import pytest
import yaml
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parent.parent
APP_SERVICES = ("web", "worker", "beat")


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def settings_env_names() -> set[str]:
    """Every NAME in env.str/bool/int/url_setting("NAME", ...) calls of charity/settings.py."""
    tree = ast.parse((ROOT / "charity" / "settings.py").read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "env"
            and node.func.attr in {"str", "bool", "int", "url_setting"}
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            names.add(node.args[0].value)
    return names


def command_words(service: dict) -> list[str]:
    command = service.get("command", "")
    words = command if isinstance(command, list) else shlex.split(command)
    # `sh -c "a && b"`: look inside the script too.
    return [w for word in words for w in shlex.split(word)] if words[:2] == ["sh", "-c"] else words


def test_compose_has_the_five_services(compose):
    assert set(compose["services"]) == {"web", "worker", "beat", "db", "redis"}


def test_app_services_wait_for_healthy_db_and_redis(compose):
    for name in APP_SERVICES:
        depends = compose["services"][name]["depends_on"]
        assert depends == {
            "db": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
        }, name


def test_db_and_redis_have_healthchecks_and_the_db_a_named_volume(compose):
    db, redis = compose["services"]["db"], compose["services"]["redis"]
    assert db["image"] == "postgres:16"
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    volume = db["volumes"][0].split(":")[0]
    assert volume in compose["volumes"], "the database must live on a named volume"
    assert redis["image"] == "redis:7"
    assert redis["healthcheck"]["test"][-2:] == ["redis-cli", "ping"]


def test_web_healthcheck_requests_healthz_with_python(compose, client, db):
    script = " ".join(compose["services"]["web"]["healthcheck"]["test"])
    assert "python" in script and "urllib" in script and "/healthz" in script
    assert client.get("/healthz").content == b"ok"


def test_web_runs_migrate_and_collectstatic_then_gunicorn_on_the_wsgi_app(compose):
    words = command_words(compose["services"]["web"])
    text = " ".join(words)
    assert "manage.py migrate --noinput" in text
    assert "manage.py collectstatic --noinput" in text
    assert words[words.index("gunicorn") + 1] == "charity.wsgi"
    for i, word in enumerate(words):
        if word == "manage.py":
            assert words[i + 1] in get_commands(), f"no management command {words[i + 1]!r}"
    module = importlib.import_module("charity.wsgi")
    assert callable(module.application)


@pytest.mark.parametrize(("service", "subcommand"), [("worker", "worker"), ("beat", "beat")])
def test_celery_services_use_the_project_celery_app(compose, service, subcommand):
    words = command_words(compose["services"][service])
    assert words[0] == "celery"
    app_module = words[words.index("-A") + 1]
    assert words[words.index("-A") + 2] == subcommand
    module = importlib.import_module(app_module)
    assert module.celery_app.main == "charity"
    assert (ROOT / ".venv" / "bin" / "celery").exists() or importlib.util.find_spec("celery")


def test_beat_schedule_names_registered_tasks():
    from charity.celery import app

    importlib.import_module("charity.tasks")
    schedule = app.conf.beat_schedule
    assert schedule["purge-idempotency-records-hourly"]["task"] == "charity.tasks.purge_idempotency_records"
    assert "charity.tasks.purge_idempotency_records" in app.tasks


def test_compose_sets_only_variables_that_settings_reads(compose):
    known = settings_env_names()
    assert {"DATABASE_URL", "REDIS_URL", "DJANGO_DEBUG", "SECRET_KEY", "ALLOWED_HOSTS"} <= known
    for name in APP_SERVICES:
        environment = compose["services"][name]["environment"]
        names = set(environment) if isinstance(environment, dict) else {e.split("=")[0] for e in environment}
        assert names - known == set(), f"{name} sets variables settings.py never reads"
        assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS"} <= names
        assert str(environment["DJANGO_DEBUG"]).lower() == "false"
        assert (
            environment["DATABASE_URL"].startswith("postgres://")
            and "@db:5432/" in environment["DATABASE_URL"]
        )
        assert environment["REDIS_URL"].startswith("redis://redis:6379")


def test_dockerfile_copies_only_files_that_exist_and_runs_unprivileged():
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.M)
    assert re.search(r"^RUN pip install \.", text, re.M)
    assert re.search(r"^EXPOSE 8000$", text, re.M)
    users = re.findall(r"^USER (\S+)$", text, re.M)
    assert users and users[-1] not in ("root", "0")
    copies = re.findall(r"^COPY (.+)$", text, re.M)
    assert copies
    for line in copies:
        sources = [w for w in shlex.split(line) if not w.startswith("--")][:-1]
        for source in sources:
            assert (ROOT / source).exists(), f"Dockerfile copies {source}, which does not exist"


def test_image_holds_templates_static_and_catalogues():
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    for folder in ("templates", "static", "locale", "charity"):
        assert re.search(rf"^COPY {folder} ", text, re.M), folder
    assert list((ROOT / "locale").glob("*/LC_MESSAGES/django.mo")), "the image relies on committed .mo files"


def test_only_web_publishes_a_port_and_only_on_localhost_for_the_proxy(compose):
    for name, service in compose["services"].items():
        if name != "web":
            assert "ports" not in service, f"{name} must not be reachable from outside"
    ports = compose["services"]["web"]["ports"]
    assert ports, "the proxy on this machine reaches gunicorn through the published port"
    for port in ports:
        host_ip = port.get("host_ip") if isinstance(port, dict) else str(port).rsplit(":", 2)[0]
        assert host_ip == "127.0.0.1", f"{port!r} is reachable from other machines, bypassing the proxy"
