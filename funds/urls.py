from django.urls import path

from . import views

app_name = "funds"

urlpatterns = [
    path("community/<int:pk>/", views.community_funds, name="community"),
    path("<int:pk>/", views.fund_page, name="fund"),
    path("<int:pk>/where/", views.where_my_gift_went, name="where"),
]
