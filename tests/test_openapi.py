"""The OpenAPI document is valid, complete, and served with its docs pages offline.

What the routes really answer is checked against the document in test_api_surface.py (every
error status observed there must be documented for its route) and by schemathesis
(tests/test_schemathesis.py).
"""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from openapi_spec_validator import validate

from tests.test_api_surface import PUBLIC

PROBLEM = {"$ref": "#/components/schemas/Problem"}


def _operations(doc: dict) -> list[tuple[str, str, dict]]:
    return [(m.upper(), p, op) for p, item in doc["paths"].items() for m, op in item.items()]


def test_the_document_is_valid_openapi(client: TestClient):
    doc = client.get("/openapi.json").json()
    validate(doc)
    assert doc["openapi"].startswith("3.1")


def test_every_operation_has_tags_a_description_and_security(client: TestClient):
    doc = client.get("/openapi.json").json()
    schemes = doc["components"]["securitySchemes"]
    assert schemes["OAuth2Password"]["flows"]["password"]["tokenUrl"] == "/v1/auth/token"
    assert (schemes["ApiKey"]["type"], schemes["ApiKey"]["scheme"]) == ("http", "bearer")
    tag_names = {t["name"] for t in doc["tags"]}
    for method, path, op in _operations(doc):
        assert op.get("tags") and set(op["tags"]) <= tag_names, (method, path)
        assert len(op.get("description", "")) > 20, (method, path)
        assert "security" in op, (method, path)
        if (method, path) in PUBLIC:
            # Public: no requirement, or an optional one (`{}`: self-registration, where an
            # admin's credential may be sent).
            assert op["security"] == [] or {} in op["security"], (method, path)
        else:
            assert op["security"] and {} not in op["security"], (method, path)


def test_every_error_response_is_the_one_problem_schema(client: TestClient):
    doc = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    for method, path, op in _operations(doc):
        errors = {s: r for s, r in op["responses"].items() if s[0] in "45"}
        assert "400" in errors, (method, path)
        if "requestBody" in op or method in ("POST", "PUT", "PATCH"):
            assert "413" in errors, (method, path)
        if "application/json" in op.get("requestBody", {}).get("content", {}):
            assert "415" in errors, (method, path)  # a text/plain body is refused
        if op["security"]:
            assert "401" in errors, (method, path)
        for status, response in errors.items():
            if (method, path, status) == ("POST", "/v1/auth/token", "400"):
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/OAuthProblem"}
                continue
            assert response["content"] == {"application/problem+json": {"schema": PROBLEM}}, (
                method,
                path,
                status,
            )


def test_readyz_documents_its_503_and_the_media_types_are_the_real_ones(client: TestClient):
    doc = client.get("/openapi.json").json()
    paths = doc["paths"]
    assert "503" in paths["/readyz"]["get"]["responses"]
    assert list(paths["/.well-known/jwks.json"]["get"]["responses"]["200"]["content"]) == [
        "application/jwk-set+json",
        "application/json",
    ]
    status_list = next(p for p in paths if p.startswith("/v1/status-lists/"))
    assert list(paths[status_list]["get"]["responses"]["200"]["content"]) == [
        "application/statuslist+jwt"
    ]
    assert list(paths["/metrics"]["get"]["responses"]["200"]["content"]) == ["text/plain"]
    export = paths["/v1/audit/export"]["get"]["responses"]["200"]["content"]
    assert set(export) == {"application/jsonl", "text/csv"}
    # What is served matches.
    jwks = client.get("/.well-known/jwks.json")
    assert jwks.headers["content-type"].startswith("application/jwk-set+json")


def test_docs_and_redoc_load_every_asset_from_the_app(client: TestClient):
    for page in ("/docs", "/redoc"):
        html = client.get(page)
        assert html.status_code == 200
        assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html.text)
        scripts_and_styles = [a for a in assets if a.endswith((".js", ".css"))]
        assert scripts_and_styles, page
        for asset in assets:
            assert not asset.startswith(("http://", "https://", "//")), (page, asset)
            assert client.get(asset).status_code == 200, (page, asset)
        assert "/openapi.json" in html.text
