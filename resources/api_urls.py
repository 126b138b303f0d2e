from rest_framework.routers import SimpleRouter

from .api import LoanViewSet, ResourceViewSet

router = SimpleRouter()
router.register("resources", ResourceViewSet, basename="resource")
router.register("loans", LoanViewSet, basename="loan")

urlpatterns = router.urls
