from django.urls import path

from . import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("communities/<int:pk>/", views.community, name="community"),
    path("organizations/<int:pk>/", views.organization, name="organization"),
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/signup/confirm/", views.signup_confirm, name="signup_confirm"),
    path("accounts/login/", views.login_view, name="login"),
    path("accounts/logout/", views.logout_view, name="logout"),
    path("accounts/password/", views.password_change, name="password_change"),
    path("accounts/password/reset/", views.password_reset, name="password_reset"),
    path("accounts/password/reset/confirm/", views.password_reset_confirm, name="password_reset_confirm"),
    path("privacy/", views.privacy, name="privacy"),
    path("healthz", views.healthz, name="healthz"),
]
