from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "escalada.audit"
    label = "audit"
    verbose_name = "Audit log"
