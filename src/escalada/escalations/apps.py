from django.apps import AppConfig


class EscalationsConfig(AppConfig):
    name = "escalada.escalations"
    label = "escalations"
    verbose_name = "Escalations"
