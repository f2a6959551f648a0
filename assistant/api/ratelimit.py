"""Request rate limits per client, and a throttle on repeated failed authentication.

Both are token buckets keyed by client: a bucket holds up to ``count`` tokens and refills at
``count`` per ``period``; a request (or a failed login) takes one, and an empty bucket means 429
with ``Retry-After`` set to when the next token arrives. Buckets live in the event loop's
thread only (ASGI middleware), so they need no lock.

Who is a client: with ``ASSISTANT_API_KEYS`` set, the key a request carries (if it is a valid
one); otherwise, and for requests without a valid key, the client's address.
"""

from __future__ import annotations

import hashlib
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import SecretStr
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.api.auth import bearer_token, key_matches
from assistant.api.errors import error_response
from assistant.core.errors import RateLimitedError
from assistant.core.settings import RATE_PATTERN

_PERIODS = {"second": 1.0, "minute": 60.0, "hour": 3600.0, "day": 86400.0}


@dataclass(frozen=True)
class Rate:
    """``count`` events per ``period`` seconds."""

    count: int
    period: float

    @classmethod
    def parse(cls, text: str) -> Rate:
        """``"60/minute"`` -> ``Rate(60, 60.0)``; raises ValueError naming the accepted forms."""
        if not re.match(RATE_PATTERN, text):
            raise ValueError(f"rate {text!r} is not like '60/minute' (per second, minute, hour, day or Ns)")
        count, _, per = (part.strip() for part in text.partition("/"))
        period = _PERIODS.get(per) or float(per.rstrip("s").strip())
        if int(count) < 1 or period <= 0:
            raise ValueError(f"rate {text!r} needs a positive period, like '60/minute'")
        return cls(int(count), period)


class TokenBuckets:
    """One token bucket per client key."""

    #: clients remembered at most; idle, full buckets are forgotten first (they carry no state)
    max_clients = 10_000

    def __init__(self, rate: Rate, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)

    def _level(self, key: str, now: float) -> float:
        tokens, at = self._buckets.get(key, (float(self.rate.count), now))
        return min(float(self.rate.count), tokens + (now - at) * self.rate.count / self.rate.period)

    def take(self, key: str) -> float:
        """Take a token: 0.0 if there was one, else the seconds until there is one."""
        now = self._clock()
        tokens = self._level(key, now)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) * self.rate.period / self.rate.count
        self._buckets[key] = (tokens - 1.0, now)
        if len(self._buckets) > self.max_clients:
            self._forget(now)
        return 0.0

    def wait(self, key: str) -> float:
        """Seconds until ``key`` has a token (0.0 if it has one now), without taking it."""
        tokens = self._level(key, self._clock())
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) * self.rate.period / self.rate.count

    def _forget(self, now: float) -> None:
        for key in [k for k in self._buckets if self._level(k, now) >= self.rate.count]:
            del self._buckets[key]
        while len(self._buckets) > self.max_clients:  # all busy: drop the oldest
            del self._buckets[next(iter(self._buckets))]


PathTest = Callable[[str, str], bool]  # (method, path) -> whether the rule applies


class RateLimitMiddleware:
    """429 for a client over ``limit`` on the paths ``limited`` picks, or one that failed
    authentication too often (more than ``failures`` allows) on the paths ``guarded`` picks.

    A failed authentication is a 401 to a request that carried a key (a wrong API key; a missing
    one is no guess) or a failed chat login (gradio answers 400 on its login route). While a
    client is throttled it gets 429 on guarded paths even with the right key: otherwise guessing
    could go on.
    """

    def __init__(self, app: ASGIApp, *, limit: Rate | None, failures: Rate, keys: list[SecretStr],
                 limited: PathTest, guarded: PathTest, login_path: str,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.app = app
        self.requests = TokenBuckets(limit, clock) if limit is not None else None
        self.failures = TokenBuckets(failures, clock)
        self.keys = keys
        self.limited = limited
        self.guarded = guarded
        self.login_path = login_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        address = _address(scope)
        guarded = bool(self.keys) and self.guarded(method, path)
        if guarded:
            wait = self.failures.wait(address)
            if wait > 0:
                message = "too many failed authentication attempts from this address"
                await self._refuse(scope, receive, send, message, wait)
                return
        if self.requests is not None and self.limited(method, path):
            wait = self.requests.take(self._client(scope, address))
            if wait > 0:
                rate = self.requests.rate
                message = f"rate limit of {rate.count} requests per {rate.period:g} s exceeded"
                await self._refuse(scope, receive, send, message, wait)
                return
        if not guarded:
            await self.app(scope, receive, send)
            return

        is_login = method == "POST" and path == self.login_path
        carries_key = bearer_token(scope) is not None

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                status = message["status"]
                if (status == 401 and carries_key) or (is_login and status == 400):
                    self.failures.take(address)
            await send(message)

        await self.app(scope, receive, watch)

    def _client(self, scope: Scope, address: str) -> str:
        """The rate-limit key: a valid API key's digest, else the address."""
        if self.keys:
            supplied = bearer_token(scope)
            if supplied and key_matches(supplied, self.keys):
                return "key:" + hashlib.sha256(supplied.encode()).hexdigest()[:16]
        return "addr:" + address

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, message: str, wait: float) -> None:
        error = RateLimitedError(f"{message}; retry in {math.ceil(wait)} s", math.ceil(wait))
        await error_response(error)(scope, receive, send)


def _address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"

