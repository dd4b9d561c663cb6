from bot.throttle import Throttle


def test_throttle_allows_limit_per_window_per_user_and_says_how_long_to_wait():
    now = [100.0]
    throttle = Throttle(2, 60.0, clock=lambda: now[0])
    assert throttle.try_acquire(1) == 0.0
    assert throttle.try_acquire(1) == 0.0
    assert throttle.try_acquire(1) == 60.0
    assert throttle.try_acquire(2) == 0.0  # other users are not affected
    now[0] = 130.0
    assert throttle.try_acquire(1) == 30.0
    now[0] = 160.5
    assert throttle.try_acquire(1) == 0.0
