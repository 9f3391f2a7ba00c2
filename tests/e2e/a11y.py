"""Accessibility checks for the browser tests: axe-core in the page, and a 360 px screenshot.

axe-core is the npm package `scripts/ensure-axe` installs (pinned) into the git-ignored `.axe/`
folder; `make test` calls it. Each check injects it into the page as it is, runs every rule
axe runs by default (WCAG 2.0/2.1/2.2 A and AA, and best practices) and fails on any violation,
naming the rule and the elements. Then the page is laid out 360 px wide (a small phone): it must
not scroll sideways, and a full-page screenshot is kept under `test-artifacts/portal-360/`
(git-ignored) for a person to look at.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
AXE_SCRIPT = ROOT / ".axe" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "test-artifacts" / "portal-360"
PHONE = {"width": 360, "height": 740}


def _axe_source() -> str:
    if not AXE_SCRIPT.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{AXE_SCRIPT} is missing: run scripts/ensure-axe (make test does)")
        pytest.skip(f"{AXE_SCRIPT} is missing (run scripts/ensure-axe)")
    return AXE_SCRIPT.read_text()


def violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now (an empty list when it passes)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol: the pages' CSP (no script) does not apply.
        page.evaluate(_axe_source())
    result = page.evaluate("async () => (await window.axe.run(document)).violations")
    return list(result)


def _describe(found: list[dict[str, Any]]) -> str:
    return json.dumps(
        [
            {
                "rule": v["id"],
                "impact": v.get("impact"),
                "help": v["help"],
                "where": [node["target"] for node in v["nodes"]][:5],
            }
            for v in found
        ],
        indent=1,
    )


def check_page(page: Any, name: str) -> None:
    """Zero axe violations, at the page's width and at 360 px; no sideways scroll; screenshot."""
    found = violations(page)
    assert not found, f"axe violations on {name} ({page.url}):\n{_describe(found)}"
    size = page.viewport_size
    page.set_viewport_size(PHONE)
    try:
        found = violations(page)
        assert not found, f"axe violations at 360 px on {name}:\n{_describe(found)}"
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{name} scrolls sideways by {overflow} px at 360 px wide"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    finally:
        if size:
            page.set_viewport_size(size)
