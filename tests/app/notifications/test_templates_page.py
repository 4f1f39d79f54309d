"""Settings → E-mail templates: the list, edit, preview before saving, reset; admins only."""

from __future__ import annotations

import html as html_lib

import pytest
from django.test import Client
from pytest_django import DjangoAssertNumQueries

from escalada.audit.models import Event
from escalada.notifications import services
from escalada.notifications.mail_templates import shipped_sources
from escalada.notifications.models import MailTemplate
from tests.app.conftest import World, database_state

pytestmark = pytest.mark.django_db


def field(page: str, name: str) -> str:
    """The markup of one form field's block (label to the end of its errors)."""
    return page.split(f'for="id_{name}"')[1].split("</div>")[0]


def test_the_list_says_which_emails_are_changed(
    world: World, web_as: dict[str, Client], django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    with django_assert_num_queries(4):
        page = web_as["admin"].get("/settings/email-templates/").content.decode()
    assert page.count("<td>shipped</td>") == 4
    for kind in ("ticket_received", "agent_reply", "ticket_solved", "ticket_escalated"):
        services.mail_template_save(kind=kind, subject="{{ token }}", body_text="Hello", body_html="", actor=None)
    with django_assert_num_queries(4):
        again = web_as["admin"].get("/settings/email-templates/").content.decode()
    assert (again.count("<td>shipped</td>"), again.count("<td>changed ")) == (0, 4)
    assert "An agent&#x27;s public reply" in again


def test_the_edit_page_starts_from_the_shipped_text_and_previews_without_saving(world: World, web_as: dict[str, Client]) -> None:
    page = web_as["admin"].get("/settings/email-templates/ticket_received/").content.decode()
    subject, body_text, _ = shipped_sources("ticket_received")
    assert subject == "{{ token }} We have your request: {{ ticket.subject }}"
    assert f'value="{html_lib.escape(subject)}"' in page
    assert html_lib.escape(body_text) in page
    before = database_state()
    draft = {"subject": "{{ token }} Got it, {{ requester.name }}", "body_text": "Ticket {{ ticket.number }}.", "body_html": ""}
    sample = web_as["admin"].post("/settings/email-templates/ticket_received/", {**draft, "action": "preview"})
    shown = sample.content.decode()
    assert sample.status_code == 200
    assert '<span id="preview-subject">[#1042] Got it, Ana Lima</span>' in shown
    assert '<pre id="preview-text">Ticket 1042.</pre>' in shown
    real = (
        web_as["admin"]
        .post("/settings/email-templates/ticket_received/", {**draft, "action": "preview", "ticket": world.ticket_b.pk})
        .content.decode()
    )
    assert f'<span id="preview-subject">[#{world.ticket_b.number}] Got it, Bob Stone</span>' in real
    missing = web_as["admin"].post("/settings/email-templates/ticket_received/", {**draft, "action": "preview", "ticket": 999})
    assert (missing.status_code, "There is no ticket #999." in field(missing.content.decode(), "ticket")) == (422, True)
    assert database_state() == before  # previews save nothing


def test_a_broken_template_shows_its_error_and_saves_nothing(world: World, web_as: dict[str, Client]) -> None:
    before = database_state()
    broken = {"subject": "{{ token }}", "body_text": "Hello {% if ticket.number %}", "body_html": "", "action": "save"}
    refused = web_as["admin"].post("/settings/email-templates/agent_reply/", broken)
    page = refused.content.decode()
    assert refused.status_code == 422
    assert "Template syntax error: Unclosed tag on line 1: &#x27;if&#x27;. Looking for one of: elif, else, endif." in field(
        page, "body_text"
    )
    previewed = web_as["admin"].post("/settings/email-templates/agent_reply/", {**broken, "action": "preview"})
    assert (previewed.status_code, 'id="preview"' in previewed.content.decode()) == (422, False)
    two_lines = (
        web_as["admin"]
        .post("/settings/email-templates/agent_reply/", {**broken, "subject": "a\nb", "body_text": "x"})
        .content.decode()
    )
    assert "A subject is one line." in field(two_lines, "subject")
    assert database_state() == before


def test_admins_save_and_reset_others_cannot(world: World, web_as: dict[str, Client]) -> None:
    before = database_state()
    draft = {"subject": "{{ token }} Update", "body_text": "{{ message.text }}", "body_html": "<p>{{ message.html }}</p>"}
    assert web_as["sam"].get("/settings/email-templates/").status_code == 403
    assert web_as["sam"].post("/settings/email-templates/agent_reply/", {**draft, "action": "save"}).status_code == 403
    assert web_as["ana"].post("/settings/email-templates/agent_reply/reset").status_code == 403
    assert database_state() == before
    saved = web_as["admin"].post("/settings/email-templates/agent_reply/", {**draft, "action": "save"})
    assert (saved.status_code, saved["Location"]) == (302, "/settings/email-templates/agent_reply/")
    template = MailTemplate.objects.get()
    assert (template.kind, template.subject, template.body_text, template.body_html) == (
        "agent_reply",
        "{{ token }} Update",
        "{{ message.text }}",
        "<p>{{ message.html }}</p>",
    )
    assert Event.objects.filter(kind="mail_template.changed", subject_id=template.pk).count() == 1
    assert "changed by an admin" in web_as["admin"].get("/settings/email-templates/agent_reply/").content.decode()
    assert web_as["sam"].post("/settings/email-templates/agent_reply/reset").status_code == 403
    assert MailTemplate.objects.count() == 1
    reset = web_as["admin"].post("/settings/email-templates/agent_reply/reset")
    assert (reset.status_code, MailTemplate.objects.count()) == (302, 0)
    assert web_as["admin"].get("/settings/email-templates/nothing/").status_code == 404
