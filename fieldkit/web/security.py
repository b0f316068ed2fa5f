"""Safe on a shared Wi-Fi: sessions that expire, CSRF tokens, per-client rate limits, headers.

Anyone on the node's Wi-Fi can reach the server, and a page from elsewhere (another tab)
can try to post to it.  So:

* every visitor gets a session cookie (random, HttpOnly, SameSite=Strict) that expires
  after an idle hour and a day in all; the operator's login inside it after 15 idle
  minutes.  Sessions are bounded in number: a flood of new ones drops the oldest;
* every POST must carry the session's CSRF token (form field or header), and an Origin,
  when the browser sends one, naming this server;
* every client address has token buckets: pages, actions, logins, open event streams;
* every answer carries a Content-Security-Policy that lets the page load nothing from
  anywhere but the node (no CDN, no font, no tracker), and no framing.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field

SESSION_COOKIE = "fk_session"
SESSION_IDLE_S = 3600
SESSION_MAX_S = 24 * 3600
OPERATOR_IDLE_S = 15 * 60
MAX_SESSIONS = 10_000  # a 512 MB Pi holds these in well under a megabyte each way
MAX_CLIENTS = 4096  # rate-limit buckets kept (oldest dropped)


@dataclass
class WebSession:
    sid: str
    csrf: str
    created: float
    seen: float
    operator_until: float = 0.0

    def operator(self, now: float) -> bool:
        return now < self.operator_until


class Sessions:
    def __init__(self, clock=time.monotonic) -> None:
        self.clock = clock
        self._by_id: OrderedDict[str, WebSession] = OrderedDict()

    def get(self, sid: str | None) -> WebSession | None:
        if not sid:
            return None
        s = self._by_id.get(sid)
        now = self.clock()
        if s is None or now - s.seen > SESSION_IDLE_S or now - s.created > SESSION_MAX_S:
            self._by_id.pop(sid, None)
            return None
        s.seen = now
        self._by_id.move_to_end(sid)
        return s

    def new(self) -> WebSession:
        now = self.clock()
        s = WebSession(secrets.token_urlsafe(24), secrets.token_urlsafe(24), now, now)
        self._by_id[s.sid] = s
        while len(self._by_id) > MAX_SESSIONS:
            self._by_id.popitem(last=False)
        return s

    def end(self, sid: str) -> None:
        self._by_id.pop(sid, None)


def csrf_ok(session: WebSession | None, token: str | None) -> bool:
    # as bytes: compare_digest refuses str holding non-ASCII (TypeError: a form's "%ff" or a header's
    # byte 0xff gave a 500)
    return session is not None and bool(token) and \
        hmac.compare_digest(session.csrf.encode(), str(token).encode("utf-8", "surrogatepass"))


@dataclass
class Bucket:
    tokens: float
    stamp: float


@dataclass
class Limit:
    rate: float  # tokens per second
    burst: float


# Pages: a phone browsing quickly loads a page and its few files (~5 requests) every
# second or two; actions: a person taps, at most a few a second; logins: passphrase guesses.
LIMITS = {
    "page": Limit(10.0, 60.0),
    "action": Limit(1.0, 20.0),
    "login": Limit(1 / 30, 5.0),
}
MAX_STREAMS_PER_CLIENT = 4
MAX_STREAMS = 400


@dataclass
class RateLimiter:
    clock: object = time.monotonic
    buckets: OrderedDict[tuple[str, str], Bucket] = field(default_factory=OrderedDict)
    streams: dict[str, int] = field(default_factory=dict)

    def allow(self, client: str, kind: str) -> bool:
        limit = LIMITS[kind]
        now = self.clock()  # type: ignore[operator]
        key = (client, kind)
        b = self.buckets.get(key)
        if b is None:
            b = self.buckets[key] = Bucket(limit.burst, now)
            while len(self.buckets) > MAX_CLIENTS:
                self.buckets.popitem(last=False)
        b.tokens = min(limit.burst, b.tokens + (now - b.stamp) * limit.rate)
        b.stamp = now
        self.buckets.move_to_end(key)
        if b.tokens < 1:
            return False
        b.tokens -= 1
        return True

    def open_stream(self, client: str) -> bool:
        if self.streams.get(client, 0) >= MAX_STREAMS_PER_CLIENT or sum(self.streams.values()) >= MAX_STREAMS:
            return False
        self.streams[client] = self.streams.get(client, 0) + 1
        return True

    def close_stream(self, client: str) -> None:
        n = self.streams.get(client, 0) - 1
        if n > 0:
            self.streams[client] = n
        else:
            self.streams.pop(client, None)


def content_security_policy(script_hashes: list[str]) -> str:
    """Nothing but the node itself: scripts, styles, images, connections, forms."""
    scripts = " ".join(["'self'", *(f"'sha256-{h}'" for h in script_hashes)])
    return ("default-src 'none'; "
            f"script-src {scripts}; "
            "style-src 'self'; img-src 'self' data:; connect-src 'self'; media-src 'self'; "
            "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
