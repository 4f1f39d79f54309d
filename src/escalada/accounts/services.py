from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify

from escalada.accounts.models import AgentProfile, ApiToken, IdempotencyKey, Role, Team
from escalada.accounts.selectors import TOKEN_PREFIX, account_role, agent_profile_of, hash_token_secret
from escalada.audit.services import event_record
from escalada.base.errors import NotFound, ValidationFailed
from escalada.base.timezones import is_timezone


def _check_new_user(*, username: str, email: str, password: str | None) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not username or len(username) > 150:
        errors["username"] = "Give a user name of 1 to 150 characters."
    elif User.objects.filter(username__iexact=username).exists():
        errors["username"] = f"The user name {username!r} is taken."
    try:
        validate_email(email)
    except DjangoValidationError:
        errors["email"] = "Enter a valid e-mail address."
    if password is not None:
        try:
            validate_password(password, User(username=username, email=email))
        except DjangoValidationError as exc:
            errors["password"] = " ".join(str(m) for m in exc.messages)
    return errors


@transaction.atomic
def admin_create(*, username: str, email: str, password: str, actor: User | None = None) -> User:
    errors = _check_new_user(username=username, email=email, password=password)
    if errors:
        raise ValidationFailed(errors)
    user = User.objects.create_superuser(username=username, email=email, password=password)
    event_record(
        subject_type="user", subject_id=user.pk, kind="user.created", actor=actor, after={"username": username, "role": "admin"}
    )
    return user


MAX_TRANSFER_TARGET_MINUTES = 525_600  # a year


def _check_team(
    *, name: str, tier_count: int, description: str, transfer_target_minutes: int | None, instance: Team | None
) -> dict[str, str]:
    errors: dict[str, str] = {}
    others = Team.objects.exclude(pk=instance.pk if instance else 0)
    if not name.strip() or not slugify(name) or len(name.strip()) > 120:
        errors["name"] = "Give the team a name."
    elif others.filter(Q(name__iexact=name.strip()) | (Q(slug=slugify(name)) if instance is None else Q())).exists():
        errors["name"] = f"A team named {name!r} exists already."
    if not 1 <= tier_count <= 9:
        errors["tier_count"] = "A team has between 1 and 9 tiers."
    if len(description) > 2000:
        errors["description"] = "A description has at most 2,000 characters."
    if transfer_target_minutes is not None and not 1 <= transfer_target_minutes <= MAX_TRANSFER_TARGET_MINUTES:
        errors["transfer_target_minutes"] = (
            f"A transfer target is a whole number of minutes from 1 to {MAX_TRANSFER_TARGET_MINUTES:,}, or none."
        )
    return errors


@transaction.atomic
def team_create(
    *,
    name: str,
    tier_count: int = 3,
    description: str = "",
    transfer_target_minutes: int | None = None,
    actor: User | None,
) -> Team:
    errors = _check_team(
        name=name, tier_count=tier_count, description=description, transfer_target_minutes=transfer_target_minutes, instance=None
    )
    if errors:
        raise ValidationFailed(errors)
    team = Team.objects.create(
        name=name.strip(),
        slug=slugify(name),
        tier_count=tier_count,
        description=description,
        transfer_target_minutes=transfer_target_minutes,
    )
    event_record(
        subject_type="team",
        subject_id=team.pk,
        kind="team.created",
        is_new_subject=True,
        actor=actor,
        after={"name": team.name, "tier_count": tier_count},
    )
    return team


def _team_snapshot(team: Team) -> dict[str, object]:
    fields = ("name", "tier_count", "description", "transfer_target_minutes")
    return {field: getattr(team, field) for field in fields}


@transaction.atomic
def team_update(
    *, team: Team, name: str, tier_count: int, description: str, transfer_target_minutes: int | None, actor: User | None
) -> Team:
    """Rename a team (its slug stays: rows and reports refer to it), change its tiers, description
    and the minutes a transfer to it has to be picked up."""
    errors = _check_team(
        name=name, tier_count=tier_count, description=description, transfer_target_minutes=transfer_target_minutes, instance=team
    )
    if errors:
        raise ValidationFailed(errors)
    team = Team.objects.select_for_update().get(pk=team.pk)
    before = _team_snapshot(team)
    team.name, team.tier_count, team.description = name.strip(), tier_count, description
    team.transfer_target_minutes = transfer_target_minutes
    after = _team_snapshot(team)
    changed = [k for k in after if after[k] != before[k]]
    if changed:
        team.save(update_fields=changed)
        event_record(
            subject_type="team",
            subject_id=team.pk,
            kind="team.updated",
            actor=actor,
            before={k: before[k] for k in changed},
            after={k: after[k] for k in changed},
        )
    return team


@transaction.atomic
def agent_create(
    *,
    username: str,
    email: str,
    password: str | None,
    full_name: str = "",
    teams: list[Team] | None = None,
    tier: int = 1,
    time_zone: str = "UTC",
    is_team_lead: bool = False,
    is_escalation_manager: bool = False,
    actor: User | None,
) -> AgentProfile:
    errors = _check_new_user(username=username, email=email, password=password)
    if not is_timezone(time_zone):
        errors["time_zone"] = f"{time_zone!r} is not an IANA time zone such as Europe/Berlin."
    if not 1 <= tier <= 9:
        errors["tier"] = "Tier is between 1 and 9."
    if errors:
        raise ValidationFailed(errors)
    first, _, last = full_name.partition(" ")
    user = User.objects.create_user(username=username, email=email, password=password, first_name=first, last_name=last)
    profile = AgentProfile.objects.create(
        user=user, tier=tier, time_zone=time_zone, is_team_lead=is_team_lead, is_escalation_manager=is_escalation_manager
    )
    if teams:
        profile.teams.set(teams)
    event_record(
        subject_type="user",
        subject_id=user.pk,
        kind="agent.created",
        actor=actor,
        after={
            "username": username,
            "teams": sorted(t.slug for t in teams or []),
            "tier": tier,
            "is_team_lead": is_team_lead,
            "is_escalation_manager": is_escalation_manager,
        },
    )
    return profile


STAFF_ROLES = (Role.AGENT, Role.TEAM_LEAD, Role.ESCALATION_MANAGER, Role.ADMIN)


def _access_snapshot(user: User, profile: AgentProfile | None) -> dict[str, object]:
    return {
        "role": account_role(user=user).value,
        "is_active": user.is_active,
        "teams": sorted(t.slug for t in profile.teams.all()) if profile else [],
        "tier": profile.tier if profile else None,
    }


@transaction.atomic
def user_update_access(*, user: User, role: str, is_active: bool, teams: list[Team], tier: int, actor: User | None) -> User:
    """A person's role, active flag, teams and tier, as support ops changes them.

    Roles: admin (a superuser), escalation manager, team lead and agent (an agent profile with its
    flags); a customer's login keeps the customer role. Admins cannot lock themselves out: no
    taking away one's own admin role or active flag."""
    profile = agent_profile_of(user=user)
    current = account_role(user=user)
    is_customer = profile is None and not user.is_superuser
    errors: dict[str, str] = {}
    if is_customer and role != Role.CUSTOMER:
        errors["role"] = "A customer's login has no support role; add the person as an agent instead."
    elif not is_customer and role not in STAFF_ROLES:
        errors["role"] = f"A role is one of {', '.join(r.value for r in STAFF_ROLES)}."
    if actor is not None and actor.pk == user.pk and (role != Role.ADMIN or not is_active) and current == Role.ADMIN:
        errors["role" if role != Role.ADMIN else "is_active"] = "You cannot take away your own admin access; ask another admin."
    if not 1 <= tier <= 9:
        errors["tier"] = "Tier is between 1 and 9."
    elif teams and tier > max(t.tier_count for t in teams):
        errors["tier"] = f"Tier {tier} is above the tiers of {', '.join(f'{t.name} (L1–L{t.tier_count})' for t in teams)}."
    if is_customer and teams:
        errors["teams"] = "Only agents belong to teams."
    if errors:
        raise ValidationFailed(errors)
    user = User.objects.select_for_update().get(pk=user.pk)
    before = _access_snapshot(user, profile)
    user.is_active = is_active
    user.is_superuser = user.is_staff = role == Role.ADMIN
    user.save(update_fields=["is_active", "is_superuser", "is_staff"])
    if not is_customer and (profile is not None or role != Role.ADMIN or teams):
        profile = profile or AgentProfile.objects.create(user=user)
        if role != Role.ADMIN:
            profile.is_escalation_manager = role == Role.ESCALATION_MANAGER
            profile.is_team_lead = role == Role.TEAM_LEAD
        profile.tier = tier
        profile.save(update_fields=["is_escalation_manager", "is_team_lead", "tier"])
        profile.teams.set(teams)
        user.agent_profile = profile
    after = _access_snapshot(user, profile)
    changed = [k for k in after if after[k] != before[k]]
    if changed:
        event_record(
            subject_type="user",
            subject_id=user.pk,
            kind="user.access_changed",
            actor=actor,
            before={k: before[k] for k in changed},
            after={k: after[k] for k in changed},
        )
    return user


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    plaintext: str


@transaction.atomic
def api_token_create(*, user: User, name: str, actor: User | None) -> IssuedToken:
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationFailed.one("name", "Give the token a name of 1 to 100 characters, e.g. 'CRM sync'.")
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, prefix=prefix, secret_hash=hash_token_secret(secret), created_at=timezone.now()
    )
    event_record(
        subject_type="user",
        subject_id=user.pk,
        kind="api_token.created",
        actor=actor,
        after={"token_id": token.pk, "name": name, "prefix": prefix},
    )
    return IssuedToken(token=token, plaintext=f"{TOKEN_PREFIX}_{prefix}_{secret}")


@transaction.atomic
def api_token_revoke(*, user: User, token_id: int, actor: User | None) -> ApiToken:
    token = ApiToken.objects.select_for_update().filter(user=user, pk=token_id).first()
    if token is None:
        raise NotFound(f"You have no token with id {token_id}.")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        event_record(
            subject_type="user",
            subject_id=user.pk,
            kind="api_token.revoked",
            actor=actor,
            before={"token_id": token.pk, "active": True},
            after={"token_id": token.pk, "active": False},
        )
    return token


def idempotency_key_purge(*, now: datetime) -> int:
    """Forget keys past their time to live; the worker calls this."""
    deleted, _ = IdempotencyKey.objects.filter(expires_at__lte=now).delete()
    return deleted


def idempotency_key_store(
    *,
    user: User,
    key: str,
    fingerprint: str,
    status_code: int,
    body: bytes,
    content_type: str,
    now: datetime,
    expires_at: datetime,
) -> bool:
    """Keep the answer for this key; False when a concurrent request stored one first."""
    try:
        with transaction.atomic():
            # An expired answer the worker has not purged yet must not block the key's reuse.
            IdempotencyKey.objects.filter(user=user, key=key, expires_at__lte=now).delete()
            IdempotencyKey.objects.create(
                user=user,
                key=key,
                fingerprint=fingerprint,
                status_code=status_code,
                response_body=body,
                content_type=content_type,
                created_at=now,
                expires_at=expires_at,
            )
    except IntegrityError:
        return False
    return True
