from rest_framework.routers import SimpleRouter

from .api import CommitteeViewSet
from .api_meetings import ActionItemViewSet, MeetingViewSet
from .api_projects import ProjectViewSet
from .api_proposals import ProposalViewSet
from .api_topics import TopicViewSet

router = SimpleRouter()
router.register("committees", CommitteeViewSet, basename="committee")
router.register("proposals", ProposalViewSet, basename="proposal")
router.register("meetings", MeetingViewSet, basename="meeting")
router.register("action-items", ActionItemViewSet, basename="action-item")
router.register("topics", TopicViewSet, basename="topic")
router.register("projects", ProjectViewSet, basename="project")

urlpatterns = router.urls
