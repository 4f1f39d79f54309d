"""Customers sign in by e-mail: `/login/link` asks for their address and e-mails a link that
signs them in — no password to remember for someone who writes to support twice a year.

The answer is the same whether or not the address is known (no one learns who is a customer);
links last 20 minutes and work once (they carry the account's last sign-in, which signing in
changes); a per-address hourly limit keeps the outbox from being used to flood a mailbox. Staff
accounts sign in with their password only.
"""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.models import User
from django.core import signing
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from escalada.accounts.models import Role
from escalada.accounts.selectors import user_role
from escalada.base.ratelimit import rate_limit_allows
from escalada.customers.models import Contact
from escalada.customers.services import normalize_email
from escalada.notifications.services import email_enqueue

SALT = "escalada.magic-link"
LIFETIME = timedelta(minutes=20)
PER_HOUR = 5


class LinkForm(forms.Form):
    email = forms.EmailField(label="Your e-mail address", max_length=254)


def _customer_account(contact: Contact) -> User:
    """The contact's sign-in account, made on first use (no password: links only)."""
    if contact.user is not None:
        return contact.user
    base = contact.email.split("@")[0][:100] or "customer"
    username, n = base, 1
    while User.objects.filter(username=username).exists():
        n += 1
        username = f"{base}{n}"
    user = User.objects.create_user(username=username, email=contact.email, first_name=contact.name[:150])
    user.set_unusable_password()
    user.save(update_fields=["password"])
    Contact.objects.filter(pk=contact.pk).update(user=user)
    return user


def _token(user: User) -> str:
    stamp = user.last_login.isoformat() if user.last_login else ""
    return signing.dumps({"u": user.pk, "l": stamp}, salt=SALT, compress=True)


def magic_link_request(request: HttpRequest) -> HttpResponse:
    form = LinkForm(request.POST or None)
    if request.method != "POST" or not form.is_valid():
        return render(request, "desk/magic_link.html", {"form": form}, status=422 if request.method == "POST" else 200)
    address = normalize_email(form.cleaned_data["email"])
    now = timezone.now()
    if not rate_limit_allows(key=f"magic:{address}", limit=PER_HOUR, window=timedelta(hours=1), now=now):
        form.add_error("email", "Too many links asked for this address; try again in an hour.")
        return render(request, "desk/magic_link.html", {"form": form}, status=429)
    contact = Contact.objects.select_related("user").filter(email=address).first()
    is_staff_account = contact is not None and contact.user is not None and user_role(user=contact.user) != Role.CUSTOMER
    if contact is not None and not is_staff_account:
        with transaction.atomic():
            user = _customer_account(contact)
            link = f"{settings.BASE_URL.rstrip('/')}/login/link/{_token(user)}"
            email_enqueue(
                kind="customer.sign_in_link",
                to=contact.email,
                subject="Your sign-in link",
                body_text=f"Hello {contact.name},\n\nopen this link to see your requests (it works once, for 20 minutes):\n\n"
                f"{link}\n\nIf you did not ask for it, ignore this e-mail.\n\n— Support\n",
                ticket=None,
                idempotency_key=f"magic:{user.pk}:{now.isoformat()}",
                now=now,
            )
    return render(request, "desk/magic_link.html", {"sent_to": address})


def magic_link_sign_in(request: HttpRequest, token: str) -> HttpResponse:
    try:
        data = signing.loads(token, salt=SALT, max_age=LIFETIME)
    except signing.SignatureExpired:
        return render(
            request,
            "desk/magic_link.html",
            {"form": LinkForm(), "problem": "This link has expired: ask for a new one."},
            status=400,
        )
    except signing.BadSignature:
        return render(
            request,
            "desk/magic_link.html",
            {"form": LinkForm(), "problem": "This link does not work: ask for a new one."},
            status=400,
        )
    user_id = data.get("u") if isinstance(data, dict) else None
    user = User.objects.filter(pk=user_id, is_active=True).first() if isinstance(user_id, int) else None
    stamp = user.last_login.isoformat() if user is not None and user.last_login else ""
    if user is None or stamp != data.get("l") or user_role(user=user) != Role.CUSTOMER:
        return render(
            request,
            "desk/magic_link.html",
            {"form": LinkForm(), "problem": "This link was used already: ask for a new one."},
            status=400,
        )
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return redirect("ticket-list")
