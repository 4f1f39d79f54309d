from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "escalada.customers"
    label = "customers"
    verbose_name = "Organizations and contacts"
