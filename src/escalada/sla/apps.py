from django.apps import AppConfig


class SlaConfig(AppConfig):
    name = "escalada.sla"
    label = "sla"
    verbose_name = "SLA"
