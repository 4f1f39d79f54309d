"""The main screens at 320 px wide (a small phone): nothing makes the page wider than the
screen — wide tables and the board scroll inside their own box."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from tests.e2e.conftest import RunningEscalada
from tests.e2e.test_browser import browser  # noqa: F401 - the module's browser fixture

pytestmark = pytest.mark.e2e

SCREENS = {
    "morgan": [
        "/queue/",
        "/tickets/",
        "/tickets/1/",
        "/escalations/",
        "/escalations/1/",
        "/team/",
        "/settings/escalation-matrix/",
        "/settings/ladders/",
        "/settings/ladders/1/",
        "/settings/people/",
        "/dashboard/",
        "/reports/",
        "/reports/root-causes/",
    ],
    "admin": [
        "/settings/channels/",
        "/settings/people/",
        "/settings/email-templates/",
        "/settings/email-templates/ticket_solved/",
    ],
    "ana": ["/tickets/", "/tickets/1/", "/tickets/new/"],
}


@pytest.mark.parametrize("who", sorted(SCREENS))
def test_the_screens_fit_a_320_px_phone(browser: Browser, escalada_with_demo: RunningEscalada, who: str) -> None:  # noqa: F811
    page = browser.new_context(viewport={"width": 320, "height": 640}).new_page()
    page.goto(f"{escalada_with_demo.url}/login/")
    page.get_by_label("Username").fill(who)
    page.get_by_label("Password").fill(escalada_with_demo.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/tickets/")
    widths = {}
    for path in SCREENS[who]:
        page.goto(escalada_with_demo.url + path)
        widths[path] = page.evaluate("document.documentElement.scrollWidth")
    assert widths == dict.fromkeys(SCREENS[who], 320)
