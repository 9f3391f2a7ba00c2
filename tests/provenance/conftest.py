"""Fixtures for the provenance tests: a development CA, a licence, the registry's documents."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from consent_service.cli import app as cli_app
from consent_service.config import Settings
from consent_service.licences.service import OnlineVerifier
from consent_service.provenance.ca import CaFiles, init_ca
from tests.licences.conftest import Grant, grant, issue, make_grant  # noqa: F401 - fixtures


@pytest.fixture
def dev_ca(tmp_path: Path) -> CaFiles:
    return init_ca(tmp_path / "ca")


@pytest.fixture
def settings(settings: Settings, dev_ca: CaFiles) -> Settings:
    """The suite's settings, with the development CA's root as the C2PA trust anchor."""
    return settings.model_copy(update={"c2pa_trust_anchors": dev_ca.root_cert})


@dataclass
class Registry:
    """The registry's public documents, saved as files for the offline checks."""

    client: TestClient
    jwks: Path
    status_list: Path
    status_path: str

    def refresh(self) -> None:
        self.jwks.write_text(self.client.get("/.well-known/jwks.json").text)
        self.status_list.write_text(self.client.get(self.status_path).text)

    def options(self) -> list[str]:
        return ["--jwks", str(self.jwks), "--status-list", str(self.status_list)]


@pytest.fixture
def licensed(grant: Grant, issue: Callable[..., dict[str, Any]]) -> dict[str, Any]:  # noqa: F811
    """A licence issued to the grant's studio (the 201 body)."""
    return issue(grant)


@pytest.fixture
def registry(client: TestClient, licensed: dict[str, Any], tmp_path: Path) -> Registry:
    found = Registry(
        client=client,
        jwks=tmp_path / "jwks.json",
        status_list=tmp_path / "status.jwt",
        status_path=licensed["status_list"]["uri"].removeprefix("http://testserver"),
    )
    found.refresh()
    return found


def run_c2pa(*args: str) -> tuple[int, dict[str, Any]]:
    """`consent-service c2pa ARGS` in this process; (exit code, the JSON it printed)."""
    result = CliRunner().invoke(cli_app, ["c2pa", *args], catch_exceptions=False)
    lines = result.stdout.strip().splitlines()
    assert lines, result.output
    return result.exit_code, dict(json.loads(lines[-1]))


@pytest.fixture
def sign(dev_ca: CaFiles, tmp_path: Path) -> Callable[..., tuple[int, dict[str, Any]]]:
    """Sign `source` into `output` with the development CA; extra CLI options pass through."""

    def do(source: Path, output: Path, licence: str, *options: str) -> tuple[int, dict[str, Any]]:
        return run_c2pa(
            "sign",
            str(source),
            str(output),
            "--licence",
            licence,
            "--cert-chain",
            str(dev_ca.chain),
            "--private-key",
            str(dev_ca.signing_key),
            *options,
        )

    return do


@pytest.fixture
def live_issuer(live_server: str, app: FastAPI) -> Iterator[str]:
    """Serve the app on loopback as the issuer named in the licences it signs from now on."""
    services = app.state.services
    signer = replace(services.signer, issuer=live_server)
    app.state.services = replace(
        services,
        settings=services.settings.model_copy(update={"issuer": live_server}),
        signer=signer,
        online_verifier=OnlineVerifier(engine=services.read_engine, signer=signer),
    )
    yield live_server
