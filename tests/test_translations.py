"""Both catalogues are complete, compiled, and cover every message in the source."""

import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
LANGS = ["zh_Hans", "en"]
DOMAINS = ["django"]


def catalogue(lang, domain="django"):
    return polib.pofile(str(ROOT / "locale" / lang / "LC_MESSAGES" / f"{domain}.po"))


@pytest.mark.parametrize("lang", LANGS)
def test_every_message_is_translated(lang):
    po = catalogue(lang)
    missing = [e.msgid for e in po if not e.obsolete and (not e.translated() or "fuzzy" in e.flags)]
    assert missing == [], f"{len(missing)} untranslated in {lang}: {missing[:10]}"


@pytest.mark.parametrize("lang", LANGS)
def test_compiled_catalogue_matches_its_source(lang):
    po = catalogue(lang)
    mo = polib.mofile(str(ROOT / "locale" / lang / "LC_MESSAGES" / "django.mo"))
    compiled = {
        (e.msgctxt, e.msgid): (e.msgstr, tuple(sorted(e.msgstr_plural.items()))) for e in mo if e.msgid
    }
    source = {
        (e.msgctxt, e.msgid): (e.msgstr, tuple(sorted(e.msgstr_plural.items())))
        for e in po
        if e.msgid and not e.obsolete and e.translated()
    }
    assert compiled == source, "run `make messages` to recompile the .mo files"


def test_chinese_is_really_chinese():
    po = catalogue("zh_Hans")
    latin_only = [
        e.msgid
        for e in po
        if e.translated()
        and e.msgstr
        and e.msgstr == e.msgid
        and any(c.isalpha() for c in e.msgid)
        and not e.msgid.isupper()
    ]
    # A few identifiers stay as they are (API, SQLite…); prose must not.
    assert len(latin_only) <= 10, latin_only


@pytest.mark.skipif(
    shutil.which("xgettext") is None, reason="needs GNU gettext (xgettext) to extract messages"
)
def test_catalogue_covers_every_message_in_the_source(tmp_path):
    for name in ["charity", "funds", "needs", "resources", "volunteers", "governance", "templates"]:
        shutil.copytree(
            ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "migrations")
        )
    shutil.copy(ROOT / "manage.py", tmp_path / "manage.py")
    (tmp_path / "locale").mkdir()
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "--no-location", "--no-obsolete"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "charity.settings",
            "PYTHONPATH": str(tmp_path),
        },
    )
    fresh = {e.msgid for e in polib.pofile(str(tmp_path / "locale/zh_Hans/LC_MESSAGES/django.po"))}
    ours = {e.msgid for e in catalogue("zh_Hans") if not e.obsolete}
    assert sorted(fresh - ours) == [], "run `make messages` and translate the new messages"
