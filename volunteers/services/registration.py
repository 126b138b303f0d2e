"""registration"""

__all__: list[str] = []
