from django.urls import path

from escalada.accounts import people_views, views

urlpatterns = [
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", views.sign_out, name="logout"),
    path("profile/", views.profile, name="profile"),
    path("profile/tokens/<id:token_id>/revoke", views.token_revoke, name="token-revoke"),
    path("settings/people/", people_views.people_page, name="people"),
]
