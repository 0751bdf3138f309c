"""`c360 demo` ends with the console address and a working, expiring token per role."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from rich.console import Console

from c360.api.access import DEMO_ROLES, demo_access
from c360.demo import print_summary


def test_demo_access_gives_a_token_per_role_that_signs_in(served):
    ws = served.ws
    access = demo_access(ws)
    assert access["url"] == f"http://{ws.config.api.host}:{ws.config.api.port}/"
    assert set(access["tokens"]) == set(DEMO_ROLES)
    for role, token in access["tokens"].items():
        assert ws.governance.principals.authenticate(token).role == role
    assert datetime.fromisoformat(access["expires_at"]) > datetime.now(UTC)

    buf = io.StringIO()
    summary = {
        "run_id": "r",
        "status": "succeeded",
        "seconds": {"total": 1.0},
        "stages": [],
        "workspace": str(ws.root),
        "console": access,
    }
    print_summary(summary, Console(file=buf, width=80))
    text = buf.getvalue()
    assert f"console: {access['url']}" in text
    for role, token in access["tokens"].items():
        assert f"{role:<15} {token}" in text
