"""Browser tests: Python Playwright driving Debian's Chromium (never `playwright install`).

They run on the SQLite backend only (the pages are the same on both databases and browsers
are slow), and skip when /usr/bin/chromium is missing (`scripts/ensure-chromium` installs it;
`make test` calls it).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = None
    if os.environ.get("CONSENT_TEST_BACKEND", "sqlite") == "postgresql":
        reason = "browser tests run on the SQLite backend only"
    elif not CHROMIUM.exists() and not os.environ.get("CI"):
        # In CI a missing browser is a failure (the tests run and say why), never a quiet skip.
        reason = f"{CHROMIUM} is missing (run scripts/ensure-chromium as root)"
    if reason is None:
        return
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()
