"""Every state change of volunteers, events and service hours (the only place that writes).

Split by subject so each file stays readable: `registration` (volunteers, community leaders), `events`
(events, sign-ups, waiting lists, check-in), `hours` (service records, certificates). Import from here:
`from volunteers import services; services.sign_up(...)`.
"""

from .events import *  # noqa: F403
from .hours import *  # noqa: F403
from .registration import *  # noqa: F403
