from rest_framework.routers import SimpleRouter

from .api import NeedViewSet

router = SimpleRouter()
router.register("needs", NeedViewSet, basename="need")

urlpatterns = router.urls
