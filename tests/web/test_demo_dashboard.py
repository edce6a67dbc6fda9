"""`make run`'s demo starts the dashboard and says how to sign in; the demo alone skips the second factor,
and says so on every page."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
from pathlib import Path

import httpx
import pytest

from devtools import demo
from devtools.procs import wait_http
from tests.storage.fixtures import Templates
from tests.web.conftest import FORM_TOKEN, copy_template, texts_of

PASSWORD = "a demo password, long enough"


def test_the_demo_dashboard_prints_a_setup_link_then_signs_in_without_a_second_factor(
    migrated_templates: Templates, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo, "DEMO_DIR", tmp_path)  # its log, not the real var/demo/
    url = copy_template(migrated_templates, tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WEB_", "PORT"))}
    process, web_url = demo.start_dashboard(url, env)
    try:
        wait_http(f"{web_url}/login", process, seconds=60, what="the dashboard")
        how = asyncio.run(demo.dashboard_login(url, web_url))
        link = re.search(r"(http://127\.0\.0\.1:\d+/setup/\S+)", how)
        assert link is not None, how
        with httpx.Client(follow_redirects=True) as client:
            page = client.get(link.group(1))
            assert "Local demo: no second factor" in page.text
            assert "authenticator" not in page.text  # no QR to scan in the demo
            token = FORM_TOKEN.search(page.text)
            assert token is not None
            done = client.post(
                link.group(1),
                data={"form_token": token.group(1), "password": PASSWORD, "password2": PASSWORD},
            )
            assert done.status_code == 200
            login = client.get(f"{web_url}/login")
            assert "code from your authenticator" not in login.text
            form = FORM_TOKEN.search(login.text)
            assert form is not None
            signed = client.post(
                f"{web_url}/login",
                data={"form_token": form.group(1), "email": demo.DEMO_COORDINATOR, "password": PASSWORD},
            )
            assert signed.status_code == 200  # followed the redirect to the overview
            assert "Overview" in texts_of(signed.text)
            assert "Local demo: no second factor" in signed.text
        # A second run tells the coordinator to use the password chosen (no new link).
        assert "with the password you chose" in asyncio.run(demo.dashboard_login(url, web_url))
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
