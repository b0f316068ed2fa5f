"""The web app: Starlette routes, server-rendered pages, the signing API and the event stream.

Starlette + uvicorn + Jinja2: a small ASGI stack (tens of MB resident on a Pi), pages
rendered on the server so they read without JavaScript; the script adds signing and
live updates.  Every figure shown comes from ``fieldkit.domain.queries`` (and the
judgements behind it); every action is built by ``fieldkit.domain.actions``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
import urllib.parse
from pathlib import Path
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from codec import FieldkitError
from fieldkit.domain import actions

from . import pages
from .i18n import choose_language, translator
from .node import WebNode
from .operator import operator_status, passphrase_ok
from .security import (
    OPERATOR_IDLE_S,
    SECURITY_HEADERS,
    SESSION_COOKIE,
    SESSION_MAX_S,
    RateLimiter,
    Sessions,
    WebSession,
    content_security_policy,
    csrf_ok,
)
from .signing import Signer, build_body, public_key_of

HERE = Path(__file__).parent
STATIC = HERE / "static"
MAX_BODY = 8192  # an action's JSON: the longest text field is 1500 bytes (codec/kinds.py)
KEEPALIVE_S = 15.0  # a comment line on idle streams keeps phones' connections and NATs open
# Phones probe these to detect a captive portal; answering with a redirect makes them open the app.
CAPTIVE_PROBES = {"/generate_204", "/gen_204", "/hotspot-detect.html", "/library/test/success.html",
                  "/connecttest.txt", "/ncsi.txt", "/success.txt", "/canonical.html"}

IMPORT_MAP = json.dumps({"imports": {
    "@noble/ed25519": "/static/vendor/noble-ed25519/index.js",
    "@noble/hashes/": "/static/vendor/noble-hashes/",
    "@scure/bip39": "/static/vendor/scure-bip39/index.js",
    "@scure/bip39/": "/static/vendor/scure-bip39/",
}}, separators=(",", ":"))
IMPORT_MAP_HASH = base64.b64encode(hashlib.sha256(IMPORT_MAP.encode()).digest()).decode()


class WebApp:
    """Everything one server holds: the node, sessions, limits, prepared entries, templates."""

    def __init__(self, node: WebNode, hosts: list[str] | None = None, base_url: str = "") -> None:
        self.node = node
        self.signer = Signer(node)
        self.sessions = Sessions()
        self.limiter = RateLimiter()
        self.hosts = set(hosts or [])  # Host headers this server answers; others get the portal redirect
        self.base_url = base_url
        self.csp = content_security_policy([IMPORT_MAP_HASH])
        self.env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"),
                                      autoescape=True, trim_blocks=True, lstrip_blocks=True)
        self.env.filters["when"] = pages.when
        self.env.filters["short"] = lambda s: (s or "")[:12]

    # -- request plumbing ----------------------------------------------------------------
    def client(self, request: Request) -> str:
        return request.client.host if request.client else "?"

    def session(self, request: Request) -> tuple[WebSession, bool]:
        s = self.sessions.get(request.cookies.get(SESSION_COOKIE))
        return (s, False) if s is not None else (self.sessions.new(), True)

    def finish(self, response: Response, session: WebSession | None = None, new: bool = False) -> Response:
        response.headers["Content-Security-Policy"] = self.csp
        for k, v in SECURITY_HEADERS.items():
            response.headers.setdefault(k, v)
        if session is not None and new:
            # the browser keeps it for the session's whole life; the server ends it after an idle hour
            response.set_cookie(SESSION_COOKIE, session.sid, max_age=SESSION_MAX_S, httponly=True, samesite="strict",
                                path="/")
        return response

    def render(self, request: Request, template: str, status: int = 200, **context: Any) -> Response:
        session, new = self.session(request)
        lang = choose_language(request.headers.get("accept-language"))
        html = self.env.get_template(template).render(
            t=translator(lang), lang=lang, csrf=session.csrf, import_map=IMPORT_MAP, path=request.url.path,
            node_name=self.node.identity.name, **context)
        return self.finish(HTMLResponse(html, status), session, new)

    def refuse(self, request: Request, status: int, reason: str) -> Response:
        if request.url.path.startswith(("/api/", "/events")):
            return self.finish(JSONResponse({"error": reason}, status))
        return self.render(request, "message.html", status, title=str(status), message=reason)


def build_app(web: WebApp) -> Starlette:
    """The ASGI application for ``web``."""

    def page(handler):
        async def endpoint(request: Request) -> Response:
            if not web.limiter.allow(web.client(request), "page"):
                return web.finish(PlainTextResponse("too many requests: wait a moment", 429,
                                                    headers={"Retry-After": "5"}))
            try:
                return await handler(request)
            except (FieldkitError, KeyError) as exc:
                reason = exc.reason if isinstance(exc, FieldkitError) else "not found"
                return web.refuse(request, 404, reason)
        return endpoint

    def locked(fn, *args):
        with web.node.lock:  # the state's rows are the store view's own: read them while nothing folds
            try:
                return fn(*args)
            finally:
                web.node.release()  # the rows this request loaded: the next one reads its own

    async def read(fn, *args):
        """Run a store read off the event loop (the store is synchronous, behind the node's lock)."""
        return await asyncio.to_thread(locked, fn, *args)

    def shown(template: str, fn, param: str | None = None):
        """The page rendering ``template`` with what ``fn`` reads (given the path's ``param``)."""
        async def handler(request: Request) -> Response:
            args = (request.path_params[param],) if param else ()
            return web.render(request, template, **await read(fn, web.node, *args))
        return page(handler)

    @page
    async def ledger(request: Request) -> Response:
        lang = choose_language(request.headers.get("accept-language"))
        return web.render(request, "ledger.html", **await read(pages.ledger, web.node, translator(lang)))

    @page
    async def qr(request: Request) -> Response:
        key = public_key_of(request.path_params["key"])
        svg = pages.qr_svg(f"{web.base_url or str(request.base_url).rstrip('/')}/vouch/{key.hex()}")
        return web.finish(Response(svg, media_type="image/svg+xml"))

    @page
    async def operator(request: Request) -> Response:
        session, _ = web.session(request)
        now = time.monotonic()
        if not session.operator(now):
            return web.render(request, "operator_login.html", error=None)
        session.operator_until = now + OPERATOR_IDLE_S  # idle time counts from the last look
        return web.render(request, "operator.html", **await read(operator_status, web.node))

    async def operator_login(request: Request) -> Response:
        session, _ = web.session(request)
        form = await small_form(request)
        if not csrf_ok(session, form.get("csrf")):
            return web.refuse(request, 403, "the form expired: reload the page and try again")
        if not web.limiter.allow(web.client(request), "login"):
            return web.refuse(request, 429, "too many attempts: wait a minute")
        ok, why = await read(passphrase_ok, web.node, str(form.get("passphrase") or ""))
        if not ok:
            return web.render(request, "operator_login.html", 403, error=why)
        # a new session id on login: a session id planted before the login is worth nothing after it
        web.sessions.end(session.sid)
        fresh = web.sessions.new()
        fresh.operator_until = time.monotonic() + OPERATOR_IDLE_S
        return web.finish(RedirectResponse("/operator", 303), fresh, True)

    async def operator_logout(request: Request) -> Response:
        session, _ = web.session(request)
        form = await small_form(request)
        if csrf_ok(session, form.get("csrf")):
            session.operator_until = 0
        return web.finish(RedirectResponse("/", 303))

    async def api(request: Request, handler) -> Response:
        session = web.sessions.get(request.cookies.get(SESSION_COOKIE))
        if session is None:
            return web.refuse(request, 403, "no session: reload the page")
        if not csrf_ok(session, request.headers.get("x-csrf-token")):
            return web.refuse(request, 403, "missing or wrong CSRF token: reload the page")
        origin = request.headers.get("origin")
        if origin and web.hosts and origin.split("://", 1)[-1] not in web.hosts:
            return web.refuse(request, 403, "request from another site refused")
        # prepare is what costs (a trial fold); a submit needs a token from one, so it is bounded by it
        if handler is do_prepare and not web.limiter.allow(web.client(request), "action"):
            return web.finish(JSONResponse({"error": "too many actions: wait a moment"}, 429,
                                           headers={"Retry-After": "2"}))
        body = await read_limited(request)
        if body is None:
            return web.refuse(request, 413, f"request over {MAX_BODY} bytes")
        try:
            data = json.loads(body, parse_constant=_not_json)
        except ValueError:
            return web.refuse(request, 400, "the request is not JSON")
        if not isinstance(data, dict):
            return web.refuse(request, 400, "the request is not a JSON object")
        try:
            return web.finish(JSONResponse(await read(handler, session, data)))
        except FieldkitError as exc:
            return web.refuse(request, 422, exc.reason)

    def do_prepare(session: WebSession, data: dict) -> dict:
        args = data.get("args")
        if not isinstance(args, dict):
            raise actions.ActionRefused("args must be an object")
        key = public_key_of(data.get("public_key"))
        body = build_body(web.node, str(data.get("action")), args)
        p = web.signer.prepare(session.sid, key, body)
        return {"token": p.token, "id": p.entry_id.hex(), "seq": p.seq, "kind": type(body).__name__}

    def do_submit(session: WebSession, data: dict) -> dict:
        entry = web.signer.submit(session.sid, str(data.get("token")), str(data.get("signature")))
        return {"id": entry.id.hex(), "kind": entry.kind.label, "seq": entry.seq}

    async def prepare(request: Request) -> Response:
        return await api(request, do_prepare)

    async def submit(request: Request) -> Response:
        return await api(request, do_submit)

    @page
    async def whois(request: Request) -> Response:
        return web.finish(JSONResponse(await read(pages.whois, web.node, request.path_params["key"])))

    async def events(request: Request) -> Response:
        client = web.client(request)
        if not web.limiter.open_stream(client):
            return web.finish(PlainTextResponse("too many open streams from this device", 429))
        queue = web.node.streams.open()

        async def stream():
            try:
                yield b"retry: 2000\n\n"
                while True:
                    try:
                        ev = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
                    except TimeoutError:
                        yield b": keepalive\n\n"
                        continue
                    if ev is None:
                        return
                    yield f"event: {ev.name}\ndata: {json.dumps(ev.data, separators=(',', ':'))}\n\n".encode()
            finally:
                web.node.streams.close(queue)
                web.limiter.close_stream(client)

        from starlette.responses import StreamingResponse

        return web.finish(StreamingResponse(stream(), media_type="text/event-stream",
                                            headers={"X-Accel-Buffering": "no"}))

    async def captive(request: Request) -> Response:
        return web.finish(RedirectResponse(web.base_url + "/", 302))

    routes = [
        Route("/", shown("home.html", pages.home)),
        Route("/assemblies/{aid}", shown("assembly.html", pages.assembly, "aid")),
        Route("/proposals/{pid}", shown("proposal.html", pages.proposal, "pid")),
        Route("/alerts", shown("alerts.html", pages.alerts)),
        Route("/alerts/{aid}", shown("alert.html", pages.alert, "aid")),
        Route("/mandates", shown("mandates.html", pages.mandates)),
        Route("/councils", shown("councils.html", pages.councils)), Route("/ledger", ledger),
        Route("/minutes", shown("minutes.html", pages.minutes)), Route("/join", shown("join.html", pages.join)),
        Route("/vouch/{key}", shown("vouch.html", pages.vouch, "key")), Route("/qr/{key}.svg", qr),
        Route("/operator", operator), Route("/operator/login", operator_login, methods=["POST"]),
        Route("/operator/logout", operator_logout, methods=["POST"]),
        Route("/api/prepare", prepare, methods=["POST"]), Route("/api/submit", submit, methods=["POST"]),
        Route("/api/whois/{key}", whois), Route("/events", events),
        *(Route(p, captive) for p in sorted(CAPTIVE_PROBES)),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes)
    return HostGuard(app, web)


def _not_json(constant: str) -> object:
    """NaN and Infinity: Python's json reads them, JSON has no such numbers (RFC 8259 section 6)."""
    raise ValueError(f"{constant} is not a JSON number")


async def read_limited(request: Request) -> bytes | None:
    """The request body, or None once it passes MAX_BODY (read no further: a phone never sends more)."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return None
    return body


async def small_form(request: Request) -> dict[str, str]:
    """An urlencoded form of at most MAX_BODY bytes (the operator's two small forms)."""
    body = await read_limited(request)
    if body is None:
        return {}
    try:
        fields = urllib.parse.parse_qs(body.decode("utf-8", "replace"), max_num_fields=8)
    except ValueError:  # more fields than any of our forms has ("Max number of fields exceeded": a 500, before)
        return {}
    return {k: v[0] for k, v in fields.items()}


class HostGuard:
    """ASGI wrapper: a Host this server is not (DNS rebinding, a captive portal) is sent to the app's address;
    static files get the same security headers as pages."""

    def __init__(self, app, web: WebApp) -> None:
        self.app = app
        self.web = web

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1")
        if self.web.hosts and host not in self.web.hosts:
            response = RedirectResponse(self.web.base_url + "/", 302)
            await self.web.finish(response)(scope, receive, send)
            return
        csp = self.web.csp.encode()

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", csp))
                    for k, v in SECURITY_HEADERS.items():
                        if k == "Cache-Control":
                            continue  # static files may be cached
                        headers.append((k.lower().encode(), v.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
