from django.urls import path

from escalada.insights import views

urlpatterns = [
    path("dashboard/", views.dashboard_page, name="dashboard"),
    path("reports/", views.report_page, name="reports"),
    path("reports/root-causes/<int:category_id>/", views.root_cause_page, name="report-root-cause"),
    path("reports/<slug:name>/", views.report_page, name="report"),
]
