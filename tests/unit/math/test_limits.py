import time

import pytest

from app.math.limits import TooSlow, time_limit


def _spin(cpu_seconds: float) -> None:
    end = time.process_time() + cpu_seconds
    while time.process_time() < end:
        pass


def test_overrun_raises():
    with pytest.raises(TooSlow):
        with time_limit(0.05):
            while True:
                pass


def test_an_inner_limit_gives_the_outer_one_back_what_it_did_not_use():
    with time_limit(1.0):
        with time_limit(0.8):
            pass  # returns at once: the outer limit keeps ~1 s, not ~0.2 s
        _spin(0.4)  # would trip a wrongly shortened outer limit


def test_limits_count_this_process_cpu_not_the_wall_clock():
    # a loaded machine (time spent waiting, not working) must not change a verdict
    with time_limit(0.2):
        time.sleep(0.5)
