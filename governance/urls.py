from django.urls import path

from . import views

app_name = "governance"

urlpatterns = [
    path("<int:pk>/", views.committee, name="committee"),
]
