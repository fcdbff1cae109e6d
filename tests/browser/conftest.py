"""The browser tests' fixtures: the app served over HTTP by uvicorn, and headless Debian Chromium driven by Playwright.
Without Chromium these tests are not collected, except in CI (.ci/run installs it and sets PILLAR_REQUIRE_BROWSER)."""

import asyncio
import contextlib
import os

import pytest
import uvicorn

from tests.support.browser import CHROMIUM
from tests.support.stack import free_port
from tests.support.waiting import eventually

if not os.path.exists(CHROMIUM):
    if os.environ.get("PILLAR_REQUIRE_BROWSER") == "1":
        raise RuntimeError(f"no Chromium at {CHROMIUM}, and PILLAR_REQUIRE_BROWSER=1")
    collect_ignore_glob = ["test_*.py"]


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self):  # Ctrl-C belongs to pytest, not to this in-test server
        yield


@pytest.fixture(scope="module")
async def web(api_stack):
    """The same app the API tests use, served over HTTP by uvicorn on a free port, in the session's event loop
    (so it shares the dev server's client and the worker)."""
    from api.main import app

    port = free_port()
    server = _Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    await eventually(lambda: server.started, timeout=10)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


@pytest.fixture(scope="module")
async def browser():
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        await chromium.close()
