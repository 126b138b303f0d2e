"""Demo hours (volunteers/demo.py runs volunteers, then events, then hours)."""


def seed(stdout=None):
    pass
