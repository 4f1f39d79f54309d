from django.apps import AppConfig


class DeskConfig(AppConfig):
    name = "escalada.desk"
    label = "desk"
    verbose_name = "Desk"
