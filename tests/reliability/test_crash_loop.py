"""The server killed with SIGKILL under write load keeps every write it acknowledged.

A real `uvicorn` process serves the app on loopback (SQLite files under the test's directory,
or fresh PostgreSQL databases); four clients register holders, ask for consent and issue
licences; the process is killed with `kill -9` five times at a moment the writers cannot
predict, and restarted. After each restart every acknowledged write reads back as it was
answered (a holder's record still decrypts, so its key reached the key store; a licence still
verifies), and the audit log, exported as an auditor, passes `consent-service audit verify`
with an event for each of them. `bench/reliability.py` runs the same loop with more crashes.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import BACKEND
from tests.reliability.harness import crash_loop, deployment

CRASHES = 5


# Five restarts of a real process, each with an audit export verified offline.
@pytest.mark.timeout(900)
def test_acknowledged_writes_survive_kill_9_and_the_audit_log_verifies(tmp_path: Path) -> None:
    with deployment(tmp_path, BACKEND, os.environ.get("CONSENT_TEST_DATABASE_URL")) as dep:
        report = crash_loop(dep, tmp_path, crashes=CRASHES, progress=print)
    assert report.crashes == CRASHES
    # The load really ran and really was cut off: writes answered, and writes that never were.
    assert report.acknowledged >= CRASHES * 30, report
    assert set(report.by_kind) == {"holder", "request", "licence"}, report.by_kind
    assert report.failed_writes > 0, report
    assert report.lost == [], report.lost[:10]
    assert report.audit_failures == [], report.audit_failures[:10]
    assert report.audit_events >= report.acknowledged
