from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "escalada.insights"
    label = "insights"
    verbose_name = "Insights"
