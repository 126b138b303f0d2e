"""Every response carries a Content-Security-Policy that allows only this site's own files to run."""

import re
from pathlib import Path

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db

ROOT = Path(settings.BASE_DIR)


def policy(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy", "")
    assert header, f"no Content-Security-Policy on {response.request['PATH_INFO']}"
    directives = {}
    for part in filter(None, (p.strip() for p in header.split(";"))):
        name, *values = part.split()
        directives[name] = values
    return directives


def assert_strict(directives):
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"], "no inline script, no eval, no other site"
    assert directives["style-src"] == ["'self'"], "no <style> element, no style sheet from elsewhere"
    assert "'unsafe-inline'" not in directives["script-src-attr"]
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["form-action"] == ["'self'"]
    for values in directives.values():
        assert not any(v.startswith(("http:", "https:", "*")) or "." in v for v in values), values


@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/admin/login/", "/api/docs/", "/healthz"])
def test_pages_carry_a_strict_policy(client, path):
    assert_strict(policy(client.get(path)))


def test_the_admin_and_the_api_carry_it_too(client, community_staff, hub_api):
    client.force_login(community_staff)
    assert_strict(policy(client.get("/admin/")))
    assert_strict(policy(client.get("/admin/charity/area/")))
    assert_strict(policy(hub_api.get("/api/v1/areas/")))


def test_the_api_docs_page_runs_only_scripts_served_from_this_site(client):
    page = client.get("/api/docs/")
    html = page.content.decode()
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S)
    assert scripts
    for attributes, body in scripts:
        assert body.strip() == "", "an inline script, which the policy blocks"
        (src,) = re.findall(r'src="([^"]+)"', attributes)
        assert src.startswith("/"), src
    assert "<style" not in html and " style=" not in html
    # The script that starts Swagger UI is a file of its own, pointing at this site's schema.
    (init,) = [src for _a, _b in scripts for src in re.findall(r'src="([^"]+script[^"]*)"', _a)]
    script = client.get(init.replace("&amp;", "&"))
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle(" in script.content.decode() and "/api/schema/" in script.content.decode()
    for link in re.findall(r'<link rel="stylesheet" href="([^"]+)"', html):
        assert link.startswith("/static/"), link


INLINE = [
    (re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.I), "an inline <script>"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an inline event handler"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
    (re.compile(r"<style\b", re.I), "a <style> element"),
    (re.compile(r"\sstyle\s*=", re.I), "a style attribute"),
]


def test_no_template_of_ours_relies_on_inline_script_or_style():
    offenders = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        for pattern, what in INLINE:
            if pattern.search(text):
                offenders.append(f"{path.relative_to(ROOT)}: {what}")
    assert offenders == []
