"""Demo data of volunteers, events and hours: Dalong's counselling volunteer team and dance team with a year
of confirmed hours; Guanbeigou's "Together" series with sign-ups, a waiting list and hours. Idempotent."""

from . import demo_events, demo_hours, demo_volunteers


def seed(stdout=None):
    demo_volunteers.seed(stdout)
    demo_events.seed(stdout)
    demo_hours.seed(stdout)
