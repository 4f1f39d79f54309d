from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "escalada.notifications"
    label = "notifications"
    verbose_name = "Notifications"
