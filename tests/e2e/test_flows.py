"""The day's two main flows in a real browser, against `escalada run` with its demo data.

An agent works the queue top-down, replies, escalates with a hand-off, and the escalation manager
acknowledges; a customer submits a request through the portal, asks for an escalation and
follows it, reopens after the resolution, and rates it. Screenshots of each main screen are kept
in `artifacts/screenshots/` (made by the test run, not committed).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import RunningEscalada
from tests.e2e.test_browser import browser, sign_in  # noqa: F401 - the module's browser fixture

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_an_agent_works_the_queue_and_the_manager_acknowledges(browser: Browser, escalada_with_demo: RunningEscalada) -> None:  # noqa: F811
    page = sign_in(browser, escalada_with_demo, "sam")
    page.get_by_role("link", name="My queue").click()
    expect(page.get_by_role("heading", name=re.compile("My queue"))).to_be_visible()
    rows = page.locator("#queue tbody tr")
    expect(rows.first).to_be_visible()
    scores = [float(s) for s in page.locator("#queue .score").all_inner_texts()]
    assert scores == sorted(scores, reverse=True)  # the most urgent first
    shot(page, "queue")

    page.get_by_role("button", name="Next ticket").click()
    expect(page).to_have_url(re.compile(r"/tickets/\d+/$"))
    subject = page.get_by_role("heading", level=1).inner_text()
    page.get_by_label("Message").fill("Thanks — we are checking the invoice run now.")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator(".thread li", has_text="checking the invoice run")).to_be_visible()

    panel = page.locator("#escalation-panel")
    panel.get_by_text("Escalate up", exact=True).first.click()
    escalate = panel.locator("form[action$='/escalate/up']")
    escalate.get_by_label("Reason").select_option(label="Technical expertise needed")
    escalate.get_by_label("Hand-off note").fill("Invoice totals round per line; needs L2 to check the billing run.")
    escalate.get_by_role("button", name="Escalate up").click()
    expect(page.locator("#escalation-panel")).to_contain_text("Open escalation")
    shot(page, "ticket-workspace")

    manager = sign_in(browser, escalada_with_demo, "morgan")
    manager.get_by_role("link", name=re.compile("^Escalations")).click()
    expect(manager.get_by_role("heading", name="Escalation board")).to_be_visible()
    shot(manager, "escalation-board")
    manager.get_by_role("link", name=subject).first.click()
    manager.get_by_role("button", name="Acknowledge").click()
    expect(manager.get_by_text("Acknowledged: the response target of this level is met.")).to_be_visible()
    shot(manager, "escalation-page")


def test_a_customer_asks_follows_reopens_and_rates(browser: Browser, escalada_with_demo: RunningEscalada) -> None:  # noqa: F811
    ana = sign_in(browser, escalada_with_demo, "ana")
    ana.get_by_role("link", name="New request").click()
    ana.get_by_label("Subject").fill("Export to CSV times out")
    ana.get_by_label("Description").fill("The export spins for minutes and then fails.")
    ana.get_by_role("button", name="Create ticket").click()
    expect(ana.get_by_role("heading", name="Export to CSV times out")).to_be_visible()
    ticket_url = ana.url
    shot(ana, "portal-request")

    ana.get_by_label("Why should we escalate it?").fill("We need the export for month-end closing tomorrow.")
    ana.get_by_role("button", name="Ask for an escalation").click()
    expect(ana.locator("#customer-escalation")).to_contain_text("Your request is escalated")
    shot(ana, "portal-escalated")

    manager = sign_in(browser, escalada_with_demo, "morgan")
    manager.goto(ticket_url)
    manager.locator("#escalation-panel").get_by_role("link", name=re.compile("Open escalation")).click()
    rca = manager.locator("form[action$='/root-cause']")
    rca.get_by_label("Category").select_option(label="Product defect")
    rca.get_by_label("Description").fill("Large exports ran in the web request and hit its time limit.")
    rca.get_by_label("Corrective action").fill("Ran the export for the customer.")
    rca.get_by_label("Preventive action").fill("Exports run in the background and arrive by e-mail.")
    rca.get_by_label("Owning team").select_option(label="Engineering")
    rca.get_by_label("Customer summary").fill("Big exports timed out; we sent yours and are moving exports to the background.")
    rca.get_by_role("button", name="Save root cause").click()
    expect(manager.get_by_text("Root cause saved; it is complete.")).to_be_visible()
    manager.get_by_role("button", name="Resolve").click()
    expect(manager.get_by_text("Resolved: the ticket is solved")).to_be_visible()

    ana.goto(ticket_url)
    expect(ana.locator("body")).to_contain_text("Solved")
    ana.get_by_label("Message").fill("It fails again on the March data.")
    ana.get_by_role("button", name="Send", exact=True).click()
    # The reply goes by htmx: wait until it is in the thread before leaving the page.
    expect(ana.locator(".thread li", has_text="March data")).to_be_visible()
    ana.goto(ticket_url)
    expect(ana.locator("#customer-escalation")).to_contain_text("escalated again")
    shot(ana, "portal-reopened")

    manager.reload()
    manager.get_by_role("button", name="Resolve").click()
    expect(manager.get_by_text("Resolved: the ticket is solved")).to_be_visible()
    ana.goto(ticket_url)
    ana.get_by_label("4").check()
    ana.get_by_label("Anything to add? (optional)").fill("Fast once escalated.")
    ana.get_by_role("button", name="Send rating").click()
    expect(ana.locator("#rating")).to_contain_text("4 / 5")
    shot(ana, "portal-rated")


def test_the_thread_updates_itself(browser: Browser, escalada_with_demo: RunningEscalada) -> None:  # noqa: F811
    agent = sign_in(browser, escalada_with_demo, "fin")  # Ana's ticket #1 is with Finance in the demo
    agent.get_by_label("Search").fill("#1")
    agent.get_by_role("button", name="Filter").click()
    agent.get_by_role("link", name="My account balance is wrong since the last invoice").click()
    ana = sign_in(browser, escalada_with_demo, "ana")
    ana.goto(agent.url)
    ana.evaluate("window.noReload = true")
    agent.get_by_label("Message").fill("Finance here: the credit note is on its way.")
    agent.get_by_role("button", name="Send", exact=True).click()
    expect(agent.locator(".thread li", has_text="credit note is on its way")).to_be_visible()
    expect(ana.locator(".thread li", has_text="credit note is on its way")).to_be_visible(timeout=25_000)
    assert ana.evaluate("window.noReload") is True


def test_the_keyboard_moves_through_the_queue(browser: Browser, escalada_with_demo: RunningEscalada) -> None:  # noqa: F811
    page = sign_in(browser, escalada_with_demo, "sam")
    page.keyboard.press("g")
    page.keyboard.press("q")
    expect(page).to_have_url(re.compile(r"/queue/$"))
    second = page.locator("#queue tbody tr").nth(1).locator("a[href^='/tickets/']").first.get_attribute("href")
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(page.locator("#queue tbody tr").nth(1)).to_have_class(re.compile("kb-selected"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(f"{second}$"))
    page.keyboard.press("n")
    expect(page.get_by_label("Message")).to_be_focused()
    expect(page.get_by_label("Internal note")).to_be_checked()
    page.keyboard.type("j k e")  # typing in a field never fires a shortcut
    expect(page.get_by_label("Message")).to_have_value("j k e")
    page.get_by_label("Message").blur()
    page.keyboard.press("Shift+?")
    expect(page.get_by_role("heading", name="Keyboard shortcuts")).to_be_visible()
    shot(page, "keyboard-help")


def test_an_admin_edits_a_ladder_level_and_sees_the_path(browser: Browser, escalada_with_demo: RunningEscalada) -> None:  # noqa: F811
    page = sign_in(browser, escalada_with_demo, "admin")
    page.get_by_role("link", name="Ladders", exact=True).click()
    expect(page.get_by_role("heading", name="Escalation ladders")).to_be_visible()
    page.get_by_role("link", name="Enterprise escalation").click()
    path = page.locator("#path .ladder-level")
    expect(path).to_have_count(2)
    expect(path.nth(1)).to_contain_text("When the resolution target is missed (breach)")
    expect(path.nth(1)).to_contain_text("at once")

    levels = page.get_by_label("Levels")
    original = levels.input_value()
    # The breach level, one line of the JSON, moved to 30 minutes after the breach (first a typo).
    breach = next(line for line in original.splitlines() if '"metric_breach"' in line)
    levels.fill(original.replace(breach, breach.replace('"offset_minutes": 0', '"offset_minutes": -30')))
    page.get_by_role("button", name="Save ladder").click()
    expect(page.locator(".field-error")).to_contain_text("Level 2: An offset cannot be negative.")
    expect(path.nth(1)).to_contain_text("at once")  # nothing saved

    page.get_by_label("Levels").fill(original.replace(breach, breach.replace('"offset_minutes": 0', '"offset_minutes": 30')))
    page.get_by_role("button", name="Save ladder").click()
    expect(page.locator(".flash")).to_contain_text("(version 2)")
    expect(path.nth(1)).to_contain_text("+ 30 min (business time)")
    expect(path.nth(1)).to_contain_text("assign the escalation manager")
    shot(page, "settings-ladder")


def test_a_manager_reads_the_dashboard_and_the_root_cause_report(browser: Browser, escalada_with_demo: RunningEscalada) -> None:  # noqa: F811
    page = sign_in(browser, escalada_with_demo, "morgan")
    page.get_by_role("link", name="Dashboard", exact=True).click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.locator("#tile-unack .big")).to_have_text(re.compile(r"^\d+$"))
    expect(page.locator("#tile-health")).to_contain_text("worker(s) reporting")
    shot(page, "dashboard")
    page.get_by_role("link", name="Reports", exact=True).click()
    expect(page.get_by_role("heading", name="Escalation rate")).to_be_visible()
    # The worker builds the rollups from the demo's changes within a few seconds.
    expect(page.locator("#report-table tbody tr").first).not_to_contain_text("No tickets", timeout=15_000)
    page.get_by_role("link", name="Root causes").click()
    expect(page.get_by_role("heading", name="Recurring root causes")).to_be_visible()
    expect(page.locator("svg.chart")).to_be_visible()
    shot(page, "report-root-causes")
    page.get_by_label("From", exact=True).fill("2026-12-31")
    page.get_by_label("To", exact=True).fill("2026-01-01")
    page.get_by_role("button", name="Show").click()
    expect(page.locator(".field-error").first).to_have_text(
        "The range starts after it ends; choose a start on or before the end."
    )
