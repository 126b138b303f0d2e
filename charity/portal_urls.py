from django.urls import path

from . import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("communities/<int:pk>/", views.community, name="community"),
    path("organizations/<int:pk>/", views.organization, name="organization"),
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/login/", views.login_view, name="login"),
    path("accounts/logout/", views.logout_view, name="logout"),
    path("healthz", views.healthz, name="healthz"),
]
