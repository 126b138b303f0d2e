from django.urls import path

from . import views

app_name = "governance"

urlpatterns = [
    path("<int:pk>/", views.committee, name="committee"),
    # Allocation proposals: a community's, one proposal's record, voting, objecting, public report files.
    path("community/<int:pk>/proposals/", views.community_proposals, name="community_proposals"),
    path("proposals/<int:pk>/", views.proposal_page, name="proposal"),
    path("proposals/<int:pk>/vote/", views.vote, name="vote"),
    path("proposals/<int:pk>/conflict/", views.declare_conflict, name="conflict"),
    path("proposals/<int:pk>/object/", views.object_to, name="object"),
    path("proposals/<int:pk>/files/<int:file_pk>/", views.attachment, name="attachment"),
]
