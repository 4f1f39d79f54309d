"""The reopen link of the "solved" mail: `/support/reopen/<token>`, no sign-in.

The token is signed and names one solve of one ticket (its reopen count), so a link reopens at
most once. Inside the policy's reopen window the customer's words reopen the ticket — and its
escalation, as a reply by e-mail would; after it, they open a new ticket linked to the old one.
"""

from __future__ import annotations

from django import forms
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from escalada.desk import verbs
from escalada.notifications.services import reopen_token_read
from escalada.tickets.models import Channel, Status, Ticket


class ReopenForm(forms.Form):
    body = forms.CharField(
        label="What is still not right?", widget=forms.Textarea(attrs={"rows": 6}), max_length=20_000, strip=True
    )


def support_reopen(request: HttpRequest, token: str) -> HttpResponse:
    read = reopen_token_read(token)
    ticket = Ticket.objects.select_related("requester").filter(pk=read[0]).first() if read else None
    if read is None or ticket is None:
        return render(request, "desk/reopen.html", {"invalid": True}, status=404)
    if ticket.reopen_count != read[1] or ticket.status != Status.SOLVED:
        return render(request, "desk/reopen.html", {"ticket": ticket, "already_open": True})
    form = ReopenForm(request.POST or None)
    if request.method != "POST" or not form.is_valid():
        return render(
            request, "desk/reopen.html", {"ticket": ticket, "form": form}, status=422 if request.method == "POST" else 200
        )
    now = timezone.now()
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update(of=("self",)).select_related("requester").get(pk=ticket.pk)
        if ticket.reopen_count != read[1] or ticket.status != Status.SOLVED:
            return render(request, "desk/reopen.html", {"ticket": ticket, "already_open": True})
        if verbs.reopen_window_passed(ticket=ticket, now=now):
            # One follow-up per solve: the link (still valid, the ticket still solved) shows it again.
            earlier = Ticket.objects.filter(follow_up_of=ticket, created_at__gte=ticket.solved_at or now).order_by("pk").first()
            if earlier is not None:
                return render(request, "desk/reopen.html", {"ticket": ticket, "follow_up": earlier, "again": True})
            follow_up = verbs.ticket_follow_up(
                ticket=ticket,
                body=form.cleaned_data["body"],
                author_contact=ticket.requester,
                channel=Channel.WEB,
                actor=None,
                now=now,
            )
            return render(request, "desk/reopen.html", {"ticket": ticket, "follow_up": follow_up})
        verbs.ticket_reply(
            ticket=ticket,
            actor=None,
            author_contact=ticket.requester,
            body=form.cleaned_data["body"],
            channel=Channel.WEB,
            now=now,
        )
    return render(request, "desk/reopen.html", {"ticket": ticket, "reopened": True})
