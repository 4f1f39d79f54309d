from django.urls import path

from escalada.customers import views

urlpatterns = [
    path("organizations/", views.organization_list, name="organization-list"),
    path("organizations/new/", views.organization_new, name="organization-new"),
    path("organizations/<id:organization_id>/", views.organization_detail, name="organization-detail"),
    path("contacts/", views.contact_list, name="contact-list"),
    path("contacts/<id:contact_id>/", views.contact_detail, name="contact-detail"),
]
