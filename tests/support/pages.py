"""The pages over HTTP without a browser: a signed-in client on the app itself, and the CSRF token of a page."""

import contextlib
import re

import httpx

HTML = {"Accept": "text/html"}


def browser(api) -> httpx.AsyncClient:
    from api.main import app

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://pillar.test", headers=HTML)


@contextlib.asynccontextmanager
async def signed_in(api, token: str):
    async with browser(api) as client:
        response = await client.post("/sign-in", data={"token": token, "next": "/inbox"})
        assert response.status_code == 303 and response.headers["location"] == "/inbox", response.text
        yield client


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)
