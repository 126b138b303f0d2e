from .views import events, hours, volunteers

app_name = "volunteers"

urlpatterns = [*volunteers.urlpatterns, *events.urlpatterns, *hours.urlpatterns]
