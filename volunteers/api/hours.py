"""hours API"""

# (prefix, viewset, basename) for volunteers/api_urls.py
ROUTES: list[tuple] = []
