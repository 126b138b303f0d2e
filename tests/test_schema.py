from django.core.management import call_command


def test_openapi_schema_generates_without_warnings(tmp_path, db):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    for path in ("/api/v1/funds/", "/api/v1/donations/", "/api/v1/committees/", "/api/v1/organizations/"):
        assert path in text
