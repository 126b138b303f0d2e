from rest_framework.routers import SimpleRouter

from .api import DonationViewSet, FundViewSet

router = SimpleRouter()
router.register("funds", FundViewSet, basename="fund")
router.register("donations", DonationViewSet, basename="donation")

urlpatterns = router.urls
