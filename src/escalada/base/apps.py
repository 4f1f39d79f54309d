from django.apps import AppConfig


class BaseConfig(AppConfig):
    name = "escalada.base"
    label = "escalada_base"
    verbose_name = "Escalada base"

    def ready(self) -> None:
        from escalada.base import converters, lookups

        converters.register()
        lookups.register()
