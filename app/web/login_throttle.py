"""Failed logins are limited per account and per client address (the `limits` library,
moving window). Counted in this process's memory: `derivlab serve` runs one process;
behind several, each would count its own share."""

from __future__ import annotations

import time

from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter


class LoginThrottle:
    def __init__(self, per_account: str = "10/15 minutes", per_address: str = "50/15 minutes"):
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._account, self._address = parse(per_account), parse(per_address)

    def _keys(self, username: str, address: str):
        return ((self._account, "account", username.strip().lower()), (self._address, "address", address))

    def retry_after(self, username: str, address: str) -> int | None:
        """Seconds until a login may be tried again, or None when it may be tried now."""
        for item, kind, key in self._keys(username, address):
            if not self._limiter.test(item, kind, key):
                reset, _ = self._limiter.get_window_stats(item, kind, key)
                return max(1, int(reset - time.time()) + 1)
        return None

    def failed(self, username: str, address: str) -> None:
        for item, kind, key in self._keys(username, address):
            self._limiter.hit(item, kind, key)

    def succeeded(self, username: str) -> None:
        item, kind, key = self._keys(username, "")[0]
        self._limiter.clear(item, kind, key)
