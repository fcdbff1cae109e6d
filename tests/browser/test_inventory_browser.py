"""The inventory page in Chromium: revops uploads a team's spreadsheet and reads what has no owner; a CSM may not."""

import pytest

from tests.support.browser import new_page, shot, sign_in

pytestmark = pytest.mark.asyncio(loop_scope="session")

CSV = "kind,family,severity,account_id,owner\nsignal,renewal_risk,critical,acme,\nsignal,nps_decline,info,globex,Casey Chen\n"


async def test_revops_uploads_the_inventory_and_reads_what_has_no_owner(api, web, browser, tmp_path):
    rory = await new_page(browser, web)
    await sign_in(rory, api.tokens["rory"], "/inventory")
    await rory.locator("textarea[name=csv]").fill("family,account_id\nx,acme\n")
    await rory.click("button:has-text('Read it')")
    assert "missing: owner" in await rory.locator(".form-error").inner_text()
    assert "x,acme" in await rory.locator("textarea[name=csv]").input_value()  # what was typed is kept

    upload = tmp_path / "today.csv"
    upload.write_text(CSV)
    await rory.locator("textarea[name=csv]").fill("")
    await rory.set_input_files("input[name=file]", str(upload))
    await rory.click("button:has-text('Read it')")
    summary = await rory.locator("#inventory-report .summary").inner_text()
    assert summary.startswith("1 of 2 item(s) (50%) have no defined owner (1 blank)")
    await shot(rory, "inventory")

    casey = await new_page(browser, web)
    await sign_in(casey, api.tokens["casey"], "/inbox")
    assert (await casey.goto("/inventory")).status == 403
