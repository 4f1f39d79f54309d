from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from escalada.accounts import selectors, services
from escalada.base.errors import NotFound, ValidationFailed


class SignInView(LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("login")


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, label="Token name", help_text="Say what it is for, e.g. CRM sync.")


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    created: str | None = None
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            issued = services.api_token_create(user=user, name=form.cleaned_data["name"], actor=user)
        except ValidationFailed as exc:
            for field, message in exc.errors.items():
                form.add_error(field if field in form.fields else None, message)
        else:
            created = issued.plaintext
            form = TokenForm()
    context = {
        "form": form,
        "created": created,
        "tokens": selectors.api_token_list(user=user),
        "role": selectors.user_role(user=user),
        "agent": selectors.agent_profile_of(user=user),
    }
    return render(request, "accounts/profile.html", context)


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    user = _user(request)
    try:
        token = services.api_token_revoke(user=user, token_id=token_id, actor=user)
    except NotFound as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Token “{token.name}” is revoked; calls with it now get 401.")
    return redirect("profile")
