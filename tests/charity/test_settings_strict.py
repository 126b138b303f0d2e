"""Every setting is parsed strictly: a malformed value stops start-up with a message naming the variable."""

import pytest

from .test_settings import manage


@pytest.mark.parametrize("rate", ["abc", "600", "600/fortnight", "0/min", "-5/min", "1.5/s", "/min"])
def test_a_malformed_throttle_rate_stops_start_up_naming_it(rate):
    result = manage("check", API_THROTTLE_RATE=rate)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "API_THROTTLE_RATE" in result.stderr


@pytest.mark.parametrize("rate", ["600/min", "10/s", "5000/hour", "20000/day"])
def test_a_well_formed_throttle_rate_is_taken(rate):
    assert manage("check", API_THROTTLE_RATE=rate).returncode == 0


def test_an_unknown_log_level_stops_start_up_naming_it():
    result = manage("check", LOG_LEVEL="LOUD")
    assert result.returncode != 0
    assert "LOG_LEVEL" in result.stderr
