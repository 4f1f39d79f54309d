from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower


class Tier(models.TextChoices):
    FREE = "free", "Free"
    STANDARD = "standard", "Standard"
    PREMIUM = "premium", "Premium"
    ENTERPRISE = "enterprise", "Enterprise"


class Organization(models.Model):
    name = models.CharField(max_length=200)
    tier = models.CharField(max_length=20, choices=Tier.choices, default=Tier.STANDARD)
    time_zone = models.CharField(max_length=64, default="UTC")
    external_id = models.CharField(max_length=100, null=True, blank=True, unique=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("name"), name="organization_name_unique_ci")]

    def __str__(self) -> str:
        return self.name


class OrganizationDomain(models.Model):
    """An e-mail domain whose senders belong to the organization (one organization per domain)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="domains")
    domain = models.CharField(max_length=253, unique=True)

    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain


class Contact(models.Model):
    name = models.CharField(max_length=200)
    email = models.EmailField(max_length=254, unique=True)  # stored lower-case
    phone = models.CharField(max_length=40, blank=True)
    organization = models.ForeignKey(Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="contacts")
    time_zone = models.CharField(max_length=64, default="UTC")
    is_vip = models.BooleanField(default=False)
    external_id = models.CharField(max_length=100, null=True, blank=True, unique=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="contact"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"
