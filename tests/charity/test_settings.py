"""Settings come from the environment: production is safe or refuses to start, naming the variable."""

import base64
import os
import re
import secrets
import string
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
PROJECT_VARIABLES = (
    "DJANGO_DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "REDIS_URL",
    "CSRF_TRUSTED_ORIGINS",
    "CELERY_TASK_ALWAYS_EAGER",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "DJANGO_SETTINGS_MODULE",
    "FIELD_ENCRYPTION_KEYS",
)


def production_env(**overrides) -> dict:
    """The documented production environment; an override of None removes the variable."""
    env = {
        k: v for k, v in os.environ.items() if k not in PROJECT_VARIABLES and k != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    env.update(
        DJANGO_DEBUG="false",
        SECRET_KEY="".join(
            secrets.choice(string.ascii_letters + string.digits + "!@#%^&*(-_=+)") for _ in range(60)
        ),
        ALLOWED_HOSTS="example.org",
        DATABASE_URL="postgres://u:p@db:5432/charity",  # check --deploy does not connect
        # needs' sensitive details (charity.crypto): a fresh Fernet key, as production makes its own.
        FIELD_ENCRYPTION_KEYS=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    )
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def manage(*args, **env_overrides) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=production_env(**env_overrides),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_the_deployment_checks():
    result = manage("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_secret_key():
    result = manage("check", SECRET_KEY=None)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "SECRET_KEY" in result.stderr


def test_production_refuses_a_short_secret_key():
    result = manage("check", SECRET_KEY="too-short")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts():
    result = manage("check", ALLOWED_HOSTS=None)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "ALLOWED_HOSTS" in result.stderr


def test_a_boolean_that_is_not_true_or_false_is_an_error_naming_it():
    result = manage("check", DJANGO_DEBUG="maybe")
    assert result.returncode != 0
    assert "DJANGO_DEBUG must be true or false, not 'maybe'" in result.stderr


@pytest.mark.parametrize("url", ["nonsense", "postgres://u:p@db:notaport/charity", "mysql://u:p@db/charity"])
def test_a_malformed_database_url_is_an_error_naming_it(url):
    result = manage("check", DATABASE_URL=url)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "DATABASE_URL" in result.stderr
    assert "KeyError" not in result.stderr


def test_a_redis_url_that_is_not_redis_is_an_error_naming_it():
    result = manage("check", REDIS_URL="http://x")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "REDIS_URL" in result.stderr


def test_development_defaults_need_no_environment_at_all():
    result = manage("check", DJANGO_DEBUG=None, SECRET_KEY=None, ALLOWED_HOSTS=None, DATABASE_URL=None)
    assert result.returncode == 0, result.stderr


def development_key() -> str:
    """The SECRET_KEY that charity/settings.py falls back on in debug mode: public, in the repository."""
    text = (ROOT / "charity" / "settings.py").read_text(encoding="utf-8")
    (key,) = re.findall(r'_DEVELOPMENT_SECRET_KEY = "([^"]+)"', text)
    return key


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(development_key(), id="the-repository-key"),
        pytest.param("django-insecure-" + "k" * 50, id="a-django-insecure-key"),
        pytest.param("  django-insecure-" + "k" * 50, id="with-leading-spaces"),
    ],
)
def test_production_refuses_a_published_or_insecure_key(key):
    result = manage("check", SECRET_KEY=key)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "SECRET_KEY" in result.stderr


def test_deployment_check_with_the_development_key_fails():
    result = manage("check", "--deploy", SECRET_KEY=development_key())
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_the_tests_hash_passwords_fast_but_production_does_not(db):
    from django.contrib.auth.hashers import make_password

    assert make_password("Lv-shui-qing-shan-2025").startswith("md5$")  # tests/conftest.py
    result = manage(
        "shell", "-c", "from django.contrib.auth.hashers import get_hasher; print(get_hasher().algorithm)"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] in ("pbkdf2_sha256", "argon2", "scrypt")
