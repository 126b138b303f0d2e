"""Every setting the app reads is documented in the README and listed in .env.example, and nothing else is."""

import re
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
# The variables the settings module reads: env.<parser>("NAME", …) and the helpers that take a name first.
READ = re.compile(r'(?:env\.\w+|_rate_limits)\(\s*"([A-Z][A-Z0-9_]+)"')


def settings_variables() -> set[str]:
    return set(READ.findall((ROOT / "charity" / "settings.py").read_text()))


def env_example_variables() -> set[str]:
    names = set()
    for line in (ROOT / ".env.example").read_text().splitlines():
        match = re.match(r"#?\s*([A-Z][A-Z0-9_]+)=", line)
        if match:
            names.add(match.group(1))
    return names


def test_the_settings_read_a_known_set_of_variables():
    assert {"DJANGO_DEBUG", "SECRET_KEY", "DATABASE_URL", "API_THROTTLE_RATE"} <= settings_variables()


def test_every_variable_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    assert sorted(v for v in settings_variables() if f"`{v}`" not in readme) == []


def test_env_example_lists_every_variable_and_nothing_unknown():
    listed = env_example_variables()
    assert sorted(settings_variables() - listed) == []
    # POSTGRES_PASSWORD is docker-compose's own: it builds DATABASE_URL from it.
    assert sorted(listed - settings_variables() - {"POSTGRES_PASSWORD"}) == []
