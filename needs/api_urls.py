from rest_framework.routers import SimpleRouter

from .api import NeedViewSet
from .api_matches import MatchRunViewSet, MatchViewSet

router = SimpleRouter()
router.register("needs", NeedViewSet, basename="need")
router.register("matches", MatchViewSet, basename="match")
router.register("match-runs", MatchRunViewSet, basename="match-run")

urlpatterns = router.urls
