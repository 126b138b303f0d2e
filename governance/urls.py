from django.urls import path

from . import views, views_meetings, views_projects, views_topics

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
    # Coordination meetings: a community's published meetings (and those above it), one meeting's record,
    # and the iCalendar feed of a level's meetings and due dates for its staff (a token in the address).
    path("community/<int:pk>/meetings/", views_meetings.community_meetings, name="community_meetings"),
    path("meetings/<int:pk>/", views_meetings.meeting_page, name="meeting"),
    path(
        "meetings/calendar/<int:area_pk>/<int:user_pk>/<str:token>.ics",
        views_meetings.meeting_calendar,
        name="meeting_calendar",
    ),
    # Residents' topics: a community's (most supported, newest), raising one, a topic's page and its actions.
    path("community/<int:pk>/topics/", views_topics.community_topics, name="community_topics"),
    path("community/<int:pk>/topics/new/", views_topics.community_topics_new, name="community_topics_new"),
    path("community/<int:pk>/topics/raise/", views_topics.raise_topic, name="raise_topic"),
    path("topics/<int:pk>/", views_topics.topic_page, name="topic"),
    path("topics/<int:pk>/support/", views_topics.support, name="topic_support"),
    path("topics/<int:pk>/withdraw/", views_topics.withdraw, name="topic_withdraw"),
    path("topics/<int:pk>/comment/", views_topics.comment, name="topic_comment"),
    # Service projects: a community's, a project's page (plan, progress, money, disclosures), rating it.
    path("community/<int:pk>/projects/", views_projects.community_projects, name="community_projects"),
    path("projects/<int:pk>/", views_projects.project_page, name="project"),
    path("projects/<int:pk>/rate/", views_projects.rate, name="project_rate"),
]
