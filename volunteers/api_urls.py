from rest_framework.routers import SimpleRouter

from .api import events, hours, volunteers

router = SimpleRouter()
for module in (volunteers, events, hours):
    for prefix, viewset, basename in module.ROUTES:
        router.register(prefix, viewset, basename=basename)

urlpatterns = router.urls
