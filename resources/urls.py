from django.urls import path

from . import views

app_name = "resources"

urlpatterns = [
    path("", views.index, name="index"),
    path("offer/", views.offer, name="offer"),
    path("exchange/", views.exchange, name="exchange"),
    path("exchange/<int:pk>/claim/", views.claim, name="claim"),
    path("tools/", views.tools, name="tools"),
    path("tools/<int:pk>/wait/", views.wait, name="wait"),
    path("mine/", views.my_resources, name="my_resources"),
    path("mine/claims/<int:pk>/hand-over/", views.hand_over, name="hand_over"),
    path("claims/", views.my_claims, name="my_claims"),
    path("claims/<int:pk>/cancel/", views.cancel, name="cancel_claim"),
    path("loans/", views.my_loans, name="my_loans"),
    path("loans/<int:pk>/renew/", views.renew, name="renew"),
    path("waitlist/<int:pk>/leave/", views.leave, name="leave"),
]
