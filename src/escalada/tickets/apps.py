from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "escalada.tickets"
    label = "tickets"
    verbose_name = "Tickets"
