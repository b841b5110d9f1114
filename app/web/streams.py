"""Streamed downloads (CSV, JSONL, a prepared export) each hold a database connection until
the client has read the last byte. A few stalled clients must not take the whole pool:
each user may stream a few at once, the whole process a bounded number, and a stream the
client stops reading for `idle` seconds is cut off (its connection goes back to the pool)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections import Counter

from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse


class StreamSlots:
    """In-process counts (`derivlab serve` runs one web process; behind several, each counts its own)."""

    def __init__(self, per_user: int, total: int):
        self.per_user, self.total = per_user, total
        self._lock = threading.Lock()
        self._users: Counter[int] = Counter()

    def acquire(self, user_id: int) -> str | None:
        """None when a slot was taken, else why not."""
        with self._lock:
            if self._users[user_id] >= self.per_user:
                return (f"You already have {self._users[user_id]} downloads streaming (the limit is {self.per_user}); "
                        "let one finish or cancel it, then try again.")
            if sum(self._users.values()) >= self.total:
                return "The server is streaming as many downloads as it allows right now; try again in a minute."
            self._users[user_id] += 1
            return None

    def release(self, user_id: int) -> None:
        with self._lock:
            self._users[user_id] -= 1
            if self._users[user_id] <= 0:
                del self._users[user_id]

    def busy(self, user_id: int) -> int:
        with self._lock:
            return self._users[user_id]


class LimitedStream(StreamingResponse):
    def __init__(self, content, *, slots: StreamSlots, user_id: int, idle_seconds: float, **kwargs):
        super().__init__(content, **kwargs)
        self._source, self._slots, self._user_id, self._idle = content, slots, user_id, idle_seconds

    async def _close_source(self) -> None:
        close = getattr(self._source, "close", None)
        if close is not None:  # a generator's `finally` closes its database session
            await run_in_threadpool(close)

    async def __call__(self, scope, receive, send):
        refused = self._slots.acquire(self._user_id)
        if refused is not None:
            await self._close_source()
            body = json.dumps({"error": refused}).encode()
            await send({"type": "http.response.start", "status": 429,
                        "headers": [(b"content-type", b"application/json"), (b"retry-after", b"30"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._slots.release(self._user_id)
            await self._close_source()

    async def stream_response(self, send) -> None:
        async def within_idle(message):
            # uvicorn's send waits while the client's buffers are full: a client that stops
            # reading makes it wait forever, unless we stop waiting.
            await asyncio.wait_for(send(message), self._idle)
        await super().stream_response(within_idle)


def limited(request, user, content, **kwargs) -> LimitedStream:
    settings = request.app.state.settings
    return LimitedStream(content, slots=request.app.state.stream_slots, user_id=user.id,
                         idle_seconds=settings.stream_idle_seconds, **kwargs)
