"""A new agent and a customer, in a real browser (Debian's Chromium, headless, via Playwright).

The server is `escalada run` itself, with its first-start demo data; screenshots land in the
test's temporary directory for a person to look at when something fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.e2e.conftest import RunningEscalada

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking switches Chromium keeps dialling Google on a closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (scripts/ensure-chromium).")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def sign_in(browser: Browser, server: RunningEscalada, username: str) -> Page:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(f"{server.url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(server.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{server.url}/tickets/")
    return page


def test_agent_finds_a_ticket_and_adds_a_note_without_a_page_load(
    browser: Browser, escalada_with_demo: RunningEscalada, tmp_path: Path
) -> None:
    # Ana's ticket, the first of the demo, is escalated and with Finance: fin works it.
    page = sign_in(browser, escalada_with_demo, "fin")
    expect(page.get_by_role("heading", name="Tickets")).to_be_visible()
    page.get_by_label("Search").fill("#1")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#tickets tbody tr")).to_have_count(1)
    page.get_by_role("link", name="My account balance is wrong since the last invoice").click()
    expect(page.get_by_role("heading", name="My account balance is wrong since the last invoice")).to_be_visible()
    expect(page.get_by_text("Ana Lima").first).to_be_visible()

    page.evaluate("window.noReload = true")  # survives only if htmx swaps the thread in place
    page.get_by_label("Message").fill("Checked invoice 2026-11: rounding in the totals.")
    page.get_by_label("Internal note").check()
    page.get_by_role("button", name="Send").click()
    note = page.locator(".thread li.internal", has_text="rounding in the totals")
    expect(note).to_be_visible()
    assert page.evaluate("window.noReload") is True
    expect(page.locator("#timeline")).to_contain_text("ticket.note_added by fin")
    expect(page.get_by_label("Message")).to_have_value("")
    page.screenshot(path=str(tmp_path / "agent-ticket.png"), full_page=True)

    page.get_by_role("button", name="Send").click()  # empty: the error shows next to the field
    expect(page.locator(".field-error", has_text="This field is required.")).to_be_visible()


def test_customer_sees_only_their_organization_and_no_internal_notes(
    browser: Browser, escalada_with_demo: RunningEscalada, tmp_path: Path
) -> None:
    page = sign_in(browser, escalada_with_demo, "ana")
    rows = page.locator("#tickets tbody tr")
    expect(rows.first).to_be_visible()
    organizations = set(rows.locator("td:nth-child(3) small").all_inner_texts())
    assert organizations == {"Northwind · Enterprise"}
    page.get_by_role("link", name="My account balance is wrong since the last invoice").first.click()
    expect(page.locator(".thread li.internal")).to_have_count(0)
    expect(page.get_by_role("button", name="Set status")).to_have_count(0)
    page.get_by_label("Message").fill("Thank you, still waiting for the credit note.")
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".thread li", has_text="still waiting for the credit note")).to_be_visible()
    page.screenshot(path=str(tmp_path / "customer-ticket.png"), full_page=True)


def test_a_wrong_password_says_so_next_to_the_form(browser: Browser, escalada_with_demo: RunningEscalada) -> None:
    page = browser.new_page()
    page.goto(f"{escalada_with_demo.url}/login/")
    page.get_by_label("Username").fill("lee")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".form-error")).to_contain_text("Please enter a correct username and password.")
