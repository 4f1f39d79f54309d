"""Accessibility, checked in a real browser: axe-core's WCAG 2.1 A/AA rules on every main screen,
the keyboard's way through a form, and the pages on a 4K screen.

axe-core is an npm devDependency (package.json): it is injected into the page by the test and
never served by Escalada. A failure names the rule, the elements and what to fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import RunningEscalada
from tests.e2e.test_browser import browser  # noqa: F401 - the module's browser fixture

pytestmark = pytest.mark.e2e

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

SCREENS = {
    "morgan": [
        "/queue/",
        "/tickets/",
        "/tickets/1/",
        "/tickets/new/",
        "/escalations/",
        "/escalations/1/",
        "/team/",
        "/dashboard/",
        "/reports/",
        "/reports/root-causes/",
        "/organizations/",
        "/contacts/",
        "/profile/",
    ],
    "admin": [
        "/settings/sla/",
        "/settings/sla/calendars/1/",
        "/settings/sla/calendars/new/",
        "/settings/sla/policies/1/",
        "/settings/sla/policies/new/",
        "/settings/sla/tester",
        "/settings/escalation-matrix/",
        "/settings/escalation-lists/",
        "/settings/sign-off/",
        "/settings/ladders/",
        "/settings/ladders/1/",
        "/settings/people/",
        "/settings/email-templates/",
        "/settings/email-templates/ticket_solved/",
        "/settings/outbox/",
        "/settings/webhooks/",
        "/settings/inbound-mail/",
        "/settings/channels/",
    ],
    "ana": ["/tickets/", "/tickets/1/", "/tickets/new/", "/organizations/"],
}
# Where a 4K screen could go wrong: wide tables, the board, the charts, the two-column ticket page.
WIDE_SCREENS = ["/queue/", "/tickets/", "/tickets/1/", "/escalations/", "/dashboard/", "/reports/"]


def signed_in(browser: Browser, server: RunningEscalada, username: str, width: int = 1280, height: int = 900) -> Page:  # noqa: F811
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    page.goto(f"{server.url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(server.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/tickets/")
    return page


# What axe lets pass: a reference to an id that is not on the page (Django points a field's
# aria-describedby at "<id>_helptext" and "<id>_error" whether the template renders them or not),
# and an id used twice. Either one silently drops a label or a description.
BROKEN_REFERENCES = """() => {
    const found = [];
    for (const el of document.querySelectorAll('[for], [aria-describedby], [aria-labelledby], [aria-controls]')) {
        for (const attr of ['for', 'aria-describedby', 'aria-labelledby', 'aria-controls']) {
            for (const id of (el.getAttribute(attr) || '').split(/\\s+/).filter(Boolean)) {
                if (!document.getElementById(id)) found.push(`${attr}=${id} on ${el.tagName.toLowerCase()}#${el.id}`);
            }
        }
    }
    const seen = new Set();
    for (const el of document.querySelectorAll('[id]')) {
        if (seen.has(el.id)) found.push(`duplicate id ${el.id}`);
        seen.add(el.id);
    }
    return found;
}"""


def axe_violations(page: Page) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    violations: list[dict[str, Any]] = page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}}).then(r => r.violations)", WCAG_AA
    )
    broken: list[str] = page.evaluate(BROKEN_REFERENCES)
    if broken:
        nodes = [{"target": [reference]} for reference in broken]
        violations.append({"id": "broken-idref", "impact": "serious", "help": "ids referenced or repeated", "nodes": nodes})
    return violations


def describe(found: dict[str, list[dict[str, Any]]]) -> str:
    lines = []
    for path, violations in found.items():
        for violation in violations:
            targets = [" ".join(map(str, node["target"])) for node in violation["nodes"][:3]]
            lines.append(
                f"{path}: {violation['id']} ({violation['impact']}, {len(violation['nodes'])} elements) "
                f"{violation['help']}: {targets}"
            )
    return "\n".join(lines)


def test_the_sign_in_page_passes_axe(browser: Browser, escalada_with_demo: RunningEscalada) -> None:  # noqa: F811
    page = browser.new_page()
    page.goto(f"{escalada_with_demo.url}/login/")
    found = {"/login/": axe_violations(page)}
    assert found == {"/login/": []}, describe(found)


@pytest.mark.parametrize("who", sorted(SCREENS))
def test_the_screens_pass_axe_wcag_21_aa(browser: Browser, escalada_with_demo: RunningEscalada, who: str) -> None:  # noqa: F811
    page = signed_in(browser, escalada_with_demo, who)
    found = {}
    for path in SCREENS[who]:
        response = page.goto(escalada_with_demo.url + path)
        assert response is not None
        assert response.status == 200, path
        found[path] = axe_violations(page)
    assert found == dict.fromkeys(SCREENS[who], []), describe(found)


def test_a_form_sent_with_errors_still_passes_axe(browser: Browser, escalada_with_demo: RunningEscalada) -> None:  # noqa: F811
    # The errors sit next to their fields, and each field is described by its help and its error.
    page = signed_in(browser, escalada_with_demo, "ana")
    page.goto(f"{escalada_with_demo.url}/tickets/new/")
    page.get_by_role("button", name="Create ticket").click()
    expect(page.locator(".field-error").first).to_be_visible()
    subject = page.get_by_label("Subject")
    expect(subject).to_have_attribute("aria-invalid", "true")
    found = {"/tickets/new/ (errors)": axe_violations(page)}
    assert found == {"/tickets/new/ (errors)": []}, describe(found)


def focus_ring(page: Page) -> dict[str, str]:
    style: dict[str, str] = page.evaluate(
        """() => {
            const el = document.activeElement, s = getComputedStyle(el);
            return {tag: el.tagName.toLowerCase(), text: (el.innerText || el.name || el.id || '').trim().slice(0, 40),
                    outline: s.outlineStyle === 'none' || s.outlineWidth === '0px' ? 'none' : s.outlineStyle,
                    shadow: s.boxShadow};
        }"""
    )
    return style


def test_tab_reaches_skip_link_first_then_the_form_in_visual_order_with_a_visible_ring(
    browser: Browser,  # noqa: F811
    escalada_with_demo: RunningEscalada,
) -> None:
    page = signed_in(browser, escalada_with_demo, "ana")
    page.goto(f"{escalada_with_demo.url}/tickets/new/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box is not None
    assert box["y"] >= 0  # moved onto the screen when focused
    assert box["width"] > 1
    assert box["height"] > 1
    assert focus_ring(page)["outline"] != "none"
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{escalada_with_demo.url}/tickets/new/#content")

    # From the main content onwards: the form's controls, top to bottom, each with a visible ring.
    form = page.locator("main form").first
    controls = form.locator("input:not([type=hidden]), select, textarea, button")
    expected = [controls.nth(i).evaluate("el => el.name || el.innerText.trim()") for i in range(controls.count())]
    visited: list[str] = []
    tops: list[float] = []
    for _ in expected:
        page.keyboard.press("Tab")
        ring = focus_ring(page)
        assert ring["outline"] != "none" or ring["shadow"] != "none", ring
        visited.append(page.evaluate("document.activeElement.name || document.activeElement.innerText.trim()"))
        tops.append(page.evaluate("document.activeElement.getBoundingClientRect().top + window.scrollY"))
    assert visited == expected
    assert tops == sorted(tops)


@pytest.mark.parametrize("who", ["morgan"])
def test_a_4k_screen_keeps_the_page_readable_and_bounded(
    browser: Browser,  # noqa: F811
    escalada_with_demo: RunningEscalada,
    who: str,
) -> None:
    page = signed_in(browser, escalada_with_demo, who, width=3840, height=2160)
    measured = {}
    for path in WIDE_SCREENS:
        page.goto(escalada_with_demo.url + path)
        measured[path] = page.evaluate(
            """() => ({scrollWidth: document.documentElement.scrollWidth,
                       fontSize: parseFloat(getComputedStyle(document.body).fontSize) >= 15,
                       mainBounded: document.querySelector('main').getBoundingClientRect().width <= 1600})"""
        )
    assert measured == dict.fromkeys(WIDE_SCREENS, {"scrollWidth": 3840, "fontSize": True, "mainBounded": True})


def test_a_laptop_screen_keeps_an_admins_navigation_and_sign_out_on_screen(
    browser: Browser,  # noqa: F811
    escalada_with_demo: RunningEscalada,
) -> None:
    # The admin has the longest navigation: it wraps rather than widening the page (WCAG 1.4.10).
    page = signed_in(browser, escalada_with_demo, "admin", width=1280, height=800)
    measured = {}
    for path in ["/settings/sla/", "/queue/"]:
        page.goto(escalada_with_demo.url + path)
        sign_out = page.get_by_role("button", name="Sign out").bounding_box()
        assert sign_out is not None
        measured[path] = (page.evaluate("document.documentElement.scrollWidth"), sign_out["x"] + sign_out["width"] <= 1280)
    assert measured == {"/settings/sla/": (1280, True), "/queue/": (1280, True)}
