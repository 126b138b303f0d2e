"""events portal pages"""

urlpatterns: list = []


def register_my_page():
    pass
