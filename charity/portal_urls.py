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
    # my page (我的) and notifications: the person's own data only (issue 10)
    path("me/", views.me, name="me"),
    path("me/notifications/", views.notification_list, name="notifications"),
    path("me/notifications/<int:pk>/", views.notification_open, name="notification_open"),
    path("me/notifications/settings/", views.notification_settings, name="notification_settings"),
    path("me/data/", views.my_data, name="my_data"),
    path("me/delete/", views.delete_account, name="delete_account"),
    path("healthz", views.healthz, name="healthz"),
]
