"""Portal pages of volunteers, events and certificates, one module per subject; each lists its
`urlpatterns` (volunteers/urls.py) and registers its part of "my page" in `register_my_page()`."""
