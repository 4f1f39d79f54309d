from django.urls import path

from escalada.escalations import views

urlpatterns = [
    path("settings/escalation-matrix/", views.matrix_page, name="escalation-matrix"),
]
