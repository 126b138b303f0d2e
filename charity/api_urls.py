from rest_framework.routers import SimpleRouter

from .api import AreaViewSet, OrganizationViewSet

router = SimpleRouter()
router.register("areas", AreaViewSet, basename="area")
router.register("organizations", OrganizationViewSet, basename="organization")

urlpatterns = router.urls
