"""hours"""

__all__: list[str] = []
