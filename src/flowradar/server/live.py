"""The live feed: events (new flows, alerts, per-host rates) fanned out to WebSocket clients.

Publishers (ingest, in worker threads) call :meth:`Broadcaster.publish` from any thread. Without
Redis the event goes straight to this process's clients. With ``redis_url`` every event goes to a
Redis pub/sub channel and each server process forwards what it receives to its own clients, so a
flow ingested by one process reaches the clients of all of them. Each host's latest state (its rates)
is also kept under ``<channel>:state:<host>`` with an expiry; a new client gets those first.

Each client has a bounded queue; a client too slow to keep up loses the oldest events and is told
how many with a ``dropped`` event.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("flowradar.server")

Event = dict[str, Any]


@dataclass(slots=True, eq=False)
class Subscription:
    """One client's queue of events."""

    queue: asyncio.Queue[Event]
    dropped: int = 0


@dataclass(slots=True)
class HubStats:
    """Counters of one hub."""

    published: int = 0
    delivered: int = 0
    dropped: int = 0
    redis_errors: int = 0
    last_error: str | None = field(default=None)


class LiveHub:
    """This process's live clients, and the latest state per host (without Redis)."""

    def __init__(self, queue_size: int = 256, state_ttl_s: float = 30.0) -> None:
        self.queue_size = max(queue_size, 2)
        self.state_ttl_s = state_ttl_s
        self.stats = HubStats()
        self._subs: set[Subscription] = set()
        self._state: dict[str, tuple[float, Event]] = {}

    def subscribe(self) -> Subscription:
        """A new client's subscription (call on the event loop)."""
        sub = Subscription(asyncio.Queue(self.queue_size))
        self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Forget a client."""
        self._subs.discard(sub)

    @property
    def clients(self) -> int:
        """Clients connected to this process."""
        return len(self._subs)

    def deliver(self, event: Event) -> None:
        """Queue an event for every client of this process (on the event loop)."""
        if event.get("type") == "rates" and isinstance(event.get("host"), str):
            self._state[event["host"]] = (time.monotonic() + self.state_ttl_s, event)
        for sub in self._subs:
            if sub.queue.full():
                sub.queue.get_nowait()
                sub.dropped += 1
                self.stats.dropped += 1
            sub.queue.put_nowait(event)
            self.stats.delivered += 1

    def local_state(self) -> dict[str, Event]:
        """The latest rates event of every host that reported within the state expiry."""
        now = time.monotonic()
        for host in [h for h, (until, _) in self._state.items() if until < now]:
            del self._state[host]
        return {h: e for h, (_, e) in self._state.items()}


class Broadcaster:
    """Publishes events to the hub, directly or through Redis (thread-safe :meth:`publish`)."""

    def __init__(
        self,
        hub: LiveHub,
        redis_url: str | None = None,
        channel: str = "flowradar:live",
        state_ttl_s: int = 30,
    ) -> None:
        self.hub = hub
        self.redis_url = redis_url
        self.channel = channel
        self.state_ttl_s = max(1, state_ttl_s)
        self.origin = uuid.uuid4().hex[:12]
        self._loop: asyncio.AbstractEventLoop | None = None
        self._outbox: asyncio.Queue[Event] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._redis: Any = None

    async def start(self) -> None:
        """Bind to the running loop; with Redis, connect and start the pump and the subscriber."""
        self._loop = asyncio.get_running_loop()
        if self.redis_url is None:
            return
        import redis.asyncio as aioredis

        self._redis = aioredis.from_url(self.redis_url, decode_responses=True)
        self._outbox = asyncio.Queue(10_000)
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(self.channel)
        self._tasks = [
            asyncio.create_task(self._pump(), name="flowradar-live-pump"),
            asyncio.create_task(self._listen(pubsub), name="flowradar-live-listen"),
        ]

    async def stop(self) -> None:
        """Stop the Redis tasks and close the connection."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._redis is not None:
            await self._redis.aclose()

    def publish(self, event: Event) -> None:
        """Send an event to every client of every server process (from any thread)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        self.hub.stats.published += 1
        event.setdefault("origin", self.origin)
        if self._outbox is None:
            loop.call_soon_threadsafe(self.hub.deliver, event)
        else:
            loop.call_soon_threadsafe(self._enqueue, event)

    def _enqueue(self, event: Event) -> None:
        assert self._outbox is not None
        if self._outbox.full():
            self._outbox.get_nowait()
            self.hub.stats.dropped += 1
        self._outbox.put_nowait(event)

    async def _pump(self) -> None:
        assert self._outbox is not None
        while True:
            event = await self._outbox.get()
            text = json.dumps(event, separators=(",", ":"), default=str)
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    pipe.publish(self.channel, text)
                    if event.get("type") == "rates" and isinstance(event.get("host"), str):
                        pipe.set(f"{self.channel}:state:{event['host']}", text, ex=self.state_ttl_s)
                    await pipe.execute()
            except Exception as exc:  # Redis away: live updates pause, ingest goes on
                self._redis_failed(exc)
                self.hub.deliver(event)

    async def _listen(self, pubsub: Any) -> None:
        while True:
            try:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            except Exception as exc:
                self._redis_failed(exc)
                await asyncio.sleep(1.0)
                continue
            if message is None or message.get("type") != "message":
                continue
            try:
                event = json.loads(message["data"])
            except (TypeError, ValueError):
                continue
            if isinstance(event, dict):
                self.hub.deliver(event)

    def _redis_failed(self, exc: Exception) -> None:
        text = f"{type(exc).__name__}: {exc}"
        if self.hub.stats.last_error != text:
            log.warning("live fan-out through Redis failed: %s", text)
        self.hub.stats.redis_errors += 1
        self.hub.stats.last_error = text

    async def state(self) -> dict[str, Event]:
        """The latest rates of every host still fresh (from Redis when configured)."""
        if self._redis is None:
            return self.hub.local_state()
        out: dict[str, Event] = {}
        try:
            prefix = f"{self.channel}:state:"
            keys = [k async for k in self._redis.scan_iter(match=prefix + "*", count=500)][:10_000]
            values = await self._redis.mget(keys) if keys else []
        except Exception as exc:
            self._redis_failed(exc)
            return self.hub.local_state()
        for key, value in zip(keys, values, strict=True):
            if value:
                with contextlib.suppress(ValueError):
                    out[key[len(prefix) :]] = json.loads(value)
        return out
