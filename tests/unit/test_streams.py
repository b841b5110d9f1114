"""Streamed downloads hold a database connection each: a stalled client is cut off after
the idle time (its generator closed, so its session too) and a user can hold only so many
streams at once. Driven as ASGI with a `send` that never completes: a client that reads nothing."""

from __future__ import annotations

import asyncio

from starlette.requests import ClientDisconnect

from app.web.streams import LimitedStream, StreamSlots


def _source(log: list[str]):
    try:
        log.append("opened")  # where the export opens its database session
        for n in range(1000):
            yield f"row {n}\n"
    finally:
        log.append("closed")  # ... and closes it


async def _call(response, send):
    scope = {"type": "http", "asgi": {"spec_version": "2.4"}, "method": "GET", "path": "/x", "headers": []}

    async def receive():
        await asyncio.sleep(3600)

    await response(scope, receive, send)


def test_a_stalled_client_is_cut_off_and_its_slot_and_session_are_given_back():
    slots = StreamSlots(per_user=1, total=8)
    log: list[str] = []
    sent: list[dict] = []

    async def stalled(message):
        sent.append(message)
        if message["type"] == "http.response.body":
            await asyncio.Event().wait()  # the client stopped reading: never returns

    async def scenario():
        first = LimitedStream(_source(log), slots=slots, user_id=7, idle_seconds=0.2)
        task = asyncio.create_task(_call(first, stalled))
        await asyncio.sleep(0.05)
        assert slots.busy(7) == 1
        # meanwhile a second download by the same user is refused, with a reason
        refused: list[dict] = []

        async def collect(message):
            refused.append(message)

        second_log: list[str] = []
        await _call(LimitedStream(_source(second_log), slots=slots, user_id=7, idle_seconds=0.2), collect)
        assert refused[0]["status"] == 429 and b"limit is 1" in refused[1]["body"]
        assert second_log == []  # its export never opened a session
        try:
            await asyncio.wait_for(task, 5)
        except ClientDisconnect:  # Starlette's name for a send that failed (TimeoutError is an OSError)
            pass
        else:
            raise AssertionError("the stalled stream should have been cut off")

    asyncio.run(scenario())
    assert sent[0]["status"] == 200
    assert log == ["opened", "closed"] and slots.busy(7) == 0


def test_slots_count_per_user_and_in_all():
    slots = StreamSlots(per_user=2, total=3)
    assert slots.acquire(1) is None and slots.acquire(1) is None
    assert "limit is 2" in slots.acquire(1)
    assert slots.acquire(2) is None
    assert "as many downloads as it allows" in slots.acquire(3)
    slots.release(1)
    assert slots.acquire(3) is None
