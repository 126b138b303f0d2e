from django.urls import path

from . import views

app_name = "needs"

urlpatterns = [
    path("community/<int:pk>/", views.community_needs, name="community"),
    path("new/", views.post_need, name="post"),
    path("<int:pk>/", views.need_detail, name="need"),
    path("<int:pk>/offer/", views.offer_help, name="offer"),
    path("<int:pk>/submitted/", views.need_submitted, name="submitted"),
    path("<int:pk>/withdraw/", views.withdraw_need, name="withdraw"),
    path("offers/<int:pk>/decide/", views.decide_offer, name="decide_offer"),
]
