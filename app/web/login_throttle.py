"""Failed logins are limited per account and per client address (the `limits` library,
moving window). Counted in this process's memory: `derivlab serve` runs one process;
behind several, each would count its own share.

A limit must not let anyone lock a user out by failing on purpose: a browser where the
account has logged in before carries a signed "known browser" cookie, and there the right
password still logs in while the account or the address is throttled. Elsewhere the limit
refuses before the password is checked (no argon2 work for a flood)."""

from __future__ import annotations

import time

from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter


class LoginThrottle:
    def __init__(self, per_account: str = "10/15 minutes", per_address: str = "50/15 minutes"):
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._account, self._address = parse(per_account), parse(per_address)

    def _keys(self, username: str, address: str):
        return ((self._account, "account", username.strip().lower()), (self._address, "address", address))

    def retry_after(self, username: str, address: str, browser: str | None = None) -> int | None:
        """Seconds until a login may be tried again, or None when it may be tried now.
        `browser`: a known browser of this account (its cookie); only its own count applies."""
        keys = [(self._account, "browser", f"{username.strip().lower()}:{browser}")] if browser else \
            self._keys(username, address)
        for item, kind, key in keys:
            if not self._limiter.test(item, kind, key):
                reset, _ = self._limiter.get_window_stats(item, kind, key)
                return max(1, int(reset - time.time()) + 1)
        return None

    def failed(self, username: str, address: str, browser: str | None = None) -> None:
        keys = list(self._keys(username, address))
        if browser:
            keys.append((self._account, "browser", f"{username.strip().lower()}:{browser}"))
        for item, kind, key in keys:
            self._limiter.hit(item, kind, key)

    def succeeded(self, username: str) -> None:
        item, kind, key = self._keys(username, "")[0]
        self._limiter.clear(item, kind, key)


KNOWN_COOKIE = "derivlab_known"
KNOWN_MAX_AGE = 365 * 24 * 3600
KNOWN_MAX_USERS = 10


class KnownBrowsers:
    """The signed cookie naming the accounts that have logged in from this browser."""

    def __init__(self, secret: str):
        self._signer = URLSafeTimedSerializer(secret, salt="derivlab-known-browser")

    def users(self, cookie: str | None) -> list[int]:
        if not cookie:
            return []
        try:
            ids = self._signer.loads(cookie, max_age=KNOWN_MAX_AGE)
        except BadSignature:
            return []
        return [i for i in ids if isinstance(i, int)] if isinstance(ids, list) else []

    def add(self, cookie: str | None, user_id: int) -> str:
        ids = [i for i in self.users(cookie) if i != user_id] + [user_id]
        return self._signer.dumps(ids[-KNOWN_MAX_USERS:])
