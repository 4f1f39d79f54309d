from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "escalada.accounts"
    label = "accounts"
    verbose_name = "People, teams and access"
