from rest_framework.routers import SimpleRouter

from .api import CommitteeViewSet
from .api_proposals import ProposalViewSet

router = SimpleRouter()
router.register("committees", CommitteeViewSet, basename="committee")
router.register("proposals", ProposalViewSet, basename="proposal")

urlpatterns = router.urls
