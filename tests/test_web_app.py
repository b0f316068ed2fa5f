"""The web server without a browser: uvicorn on 127.0.0.1 in a thread, real HTTP, real homes.

The attacks of a shared Wi-Fi: a post without the session's CSRF token, a foreign Origin
or Host, a forged or replayed signature, a stale prepared entry, floods, oversized
bodies.  Each is refused with a reason and changes nothing in the store.  The signing
itself is done here with PyNaCl, the same bytes the phone's script signs.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import threading
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codec import KeyPair, key_id
from fieldkit.domain.view import domain_state
from fieldkit.home import Home
from fieldkit.nodestore import open_node_store
from fieldkit.web import security
from fieldkit.web.i18n import choose_language
from fieldkit.web.server import BackgroundServer
from tests.domain_world import T0, D
from tests.test_domain_properties import build, programs
from tests.web_support import CliHome, Phone, free_port


@pytest.fixture
def node(tmp_path: Path):
    alpha = CliHome(tmp_path / "alpha", "alpha")
    assembly = alpha.ok("assembly", "create", "Kitchen", "--need", "food", "--vouch-threshold", "1")["id"]
    server = BackgroundServer(Home(alpha.path), "127.0.0.1", free_port())
    server.web.node.operator_passphrase = "s3cret passphrase"
    server.start()
    yield alpha, assembly, server
    server.stop()


def entries(server: BackgroundServer) -> int:
    with server.web.node.lock:
        return len(server.web.node.store)


def member(alpha: CliHome, assembly: str, server: BackgroundServer, name: str = "Ana") -> Phone:
    phone = Phone(server.url)
    phone.get("/")
    phone.act("join", assembly=assembly, name=name)
    alpha.ok("member", "vouch", assembly, phone.key.public_key.hex())
    time.sleep(1.1)  # an act in the vouch's own second may fold before it (derive.py's order)
    return phone


def test_pages_read_without_javascript_in_both_languages(node) -> None:
    _alpha, assembly, server = node
    phone = Phone(server.url)
    for path in ("/", "/alerts", "/mandates", "/councils", "/ledger", "/minutes", "/join",
                 f"/assemblies/{assembly[:8]}", "/operator"):
        status, body, headers = phone.get(path)
        assert status == 200, path
        assert "default-src 'none'" in headers["content-security-policy"]
        assert "http://" not in re.sub(r'xmlns="http://www.w3.org/2000/svg"', "", body)  # nothing from elsewhere
    _, body, _ = phone.get("/", {"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"})
    assert '<html lang="es">' in body and "Asambleas" in body
    assert choose_language("fr, es;q=0.4, en;q=0.6") == "en"
    assert choose_language("fr;q=1, es;q=0.9") == "es"
    assert choose_language("en;q=0, es;q=0") == "en"
    assert choose_language("x" * 10_000) == "en"
    status, _, _ = phone.get("/proposals/ffff")
    assert status == 404
    _, _, static = phone.get("/static/app.js")
    assert "default-src 'none'" in static["content-security-policy"]


def test_a_phone_joins_votes_and_its_entries_verify(node) -> None:
    alpha, assembly, server = node
    ana = member(alpha, assembly, server)
    proposal = alpha.ok("propose", assembly, "Paint the door?", "--option", "yes", "--option", "no",
                        "--closes", "+1h", "--quorum", "1")["id"]
    ana.act("vote", proposal=proposal[:10], option="no")
    ana.act("vote", proposal=proposal, option="YES")  # a later ballot replaces the earlier one
    assert alpha.ok("tally", proposal)["counts"] == {"yes": 1, "no": 0}
    log = [r for r in alpha.ok("log") if r["author_public_key"] == ana.key.public_key.hex()]
    assert [r["seq"] for r in log] == [0, 1, 2]
    _, body, _ = ana.get(f"/proposals/{proposal}")
    assert "Paint the door?" in body and f'data-voter="{key_id(ana.key.public_key).hex()}"' in body


def test_csrf_origin_and_host_are_checked(node) -> None:
    _alpha, assembly, server = node
    phone = Phone(server.url)
    phone.get("/")
    before = entries(server)
    assert phone.prepare("join", assembly=assembly, name="Eve")[0] == 200
    status, answer = phone.post("/api/prepare", {"action": "join", "args": {"assembly": assembly, "name": "Eve"},
                                                 "public_key": phone.key.public_key.hex()}, csrf="forged")
    assert status == 403 and "CSRF" in answer["error"]
    stranger = Phone(server.url)  # no session cookie at all
    status, answer = stranger.post("/api/prepare", {"action": "join"}, csrf="x")
    assert status == 403
    status, answer = phone.post("/api/prepare", {"action": "join", "args": {}, "public_key": "00" * 32},
                                headers={"Origin": "http://evil.example"})
    assert status == 403 and "another site" in answer["error"]
    # a foreign Host (DNS rebinding, a captive portal probe) is sent to the node's own address
    conn = http.client.HTTPConnection("127.0.0.1", int(server.url.rsplit(":", 1)[1]), timeout=10)
    conn.request("GET", "/", headers={"Host": "connectivitycheck.gstatic.com"})
    r = conn.getresponse()
    assert r.status == 302 and r.getheader("location") == server.url + "/"
    conn.close()
    assert entries(server) == before


def test_forged_replayed_and_stale_signatures_change_nothing(node) -> None:
    alpha, assembly, server = node
    ana = member(alpha, assembly, server)
    before = entries(server)
    _, prep = ana.prepare("alert", assembly=assembly, text="Eviction now", expires_minutes=60)
    thief = KeyPair.generate()
    status, answer = ana.post("/api/submit", {"token": prep["token"],
                                              "signature": thief.sign(bytes.fromhex(prep["id"])).hex()})
    assert status == 422 and "does not verify" in answer["error"]
    status, answer = ana.post("/api/submit", {"token": prep["token"], "signature": "zz"})
    assert status == 422
    # a token from another session cannot be used, even with the right signature
    other = Phone(server.url)
    other.get("/")
    good = ana.key.sign(bytes.fromhex(prep["id"])).hex()
    assert other.post("/api/submit", {"token": prep["token"], "signature": good})[0] == 422
    assert entries(server) == before
    assert ana.post("/api/submit", {"token": prep["token"], "signature": good})[0] == 200
    status, answer = ana.post("/api/submit", {"token": prep["token"], "signature": good})  # replayed
    assert status == 422 and "already used" in answer["error"]
    # two entries prepared for one place in the key's log: the second can no longer be added
    _, first = ana.prepare("ledger_never", entry="x")
    assert "unknown action" in first["error"]
    _, p1 = ana.prepare("ack", alert=alert_id(alpha), status="coming")
    _, p2 = ana.prepare("ack", alert=alert_id(alpha), status="not-coming")
    assert p1["seq"] == p2["seq"]
    assert ana.post("/api/submit", {"token": p1["token"],
                                    "signature": ana.key.sign(bytes.fromhex(p1["id"])).hex()})[0] == 200
    status, answer = ana.post("/api/submit", {"token": p2["token"],
                                              "signature": ana.key.sign(bytes.fromhex(p2["id"])).hex()})
    assert status == 422 and "in the meantime" in answer["error"]
    with server.web.node.lock:
        assert server.web.node.store.equivocations == []


def alert_id(alpha: CliHome) -> str:
    return alpha.ok("alert", "list")["alerts"][-1]["id"]


def test_refusals_carry_the_domain_reason(node) -> None:
    alpha, assembly, server = node
    outsider = Phone(server.url)
    outsider.get("/")
    proposal = alpha.ok("propose", assembly, "Paint?", "--option", "yes", "--option", "no", "--closes", "+1h")["id"]
    before = entries(server)
    status, answer = outsider.prepare("vote", proposal=proposal, option="yes")
    assert status == 422 and "not a member" in answer["error"]
    status, answer = outsider.prepare("vote", proposal=proposal, option="maybe")
    assert status == 422 and "choose one of yes, no" in answer["error"]
    status, answer = outsider.prepare("join", assembly=assembly, name="x" * 200)
    assert status == 422
    status, answer = outsider.post("/api/prepare", b"[" * 9000)
    assert status == 413
    status, answer = outsider.post("/api/prepare", b"not json")
    assert status == 400
    status, answer = outsider.post("/api/prepare", {"action": "vote", "args": [], "public_key": "ab"})
    assert status == 422
    alpha.ok("alert", "raise", assembly, "Bailiffs at 4 Canal St")
    key = outsider.key.public_key.hex()
    for eta in (2.5, True, [30], 10**40):  # int() would take the first two, the last is out of range
        args = {"alert": alert_id(alpha), "eta_minutes": eta}
        status, answer = outsider.post("/api/prepare", {"action": "ack", "args": args, "public_key": key})
        assert status == 422 and "eta_minutes must be" in answer["error"], (eta, answer)
    # Python's json reads Infinity (int() of it raised OverflowError: a 500 before); JSON has no such number
    status, answer = outsider.post("/api/prepare", f'{{"action": "ack", "args": {{"alert": "{alert_id(alpha)}", '
                                   f'"eta_minutes": Infinity}}, "public_key": "{key}"}}'.encode())
    assert status == 400 and "not JSON" in answer["error"]
    # a lone surrogate (JSON's "\ud800" escape) is no text: refused with a reason (UnicodeEncodeError, a 500, before)
    for args in ({"assembly": "\ud800", "name": "Ana"}, {"assembly": assembly, "name": "Ana \udcff"}):
        status, answer = outsider.prepare("join", **args)
        assert status == 422, (args, answer)
    assert "not valid text" in answer["error"]
    assert entries(server) == before + 1  # the alert raised here, nothing else


def test_rate_limits_per_client(node) -> None:
    _alpha, assembly, server = node
    phone = Phone(server.url)
    phone.get("/")
    codes = [phone.prepare("join", assembly=assembly, name="Flood")[0] for _ in range(int(
        security.LIMITS["action"].burst) + 5)]
    assert codes.count(429) >= 4 and codes[0] == 200
    server.web.limiter.buckets.clear()
    statuses = []
    for _ in range(int(security.LIMITS["page"].burst) + 10):
        statuses.append(phone.get("/join")[0])
    assert 429 in statuses


def test_sessions_expire_and_are_bounded() -> None:
    clock = [0.0]
    sessions = security.Sessions(clock=lambda: clock[0])
    s = sessions.new()
    assert sessions.get(s.sid) is s
    clock[0] += security.SESSION_IDLE_S + 1
    assert sessions.get(s.sid) is None
    s = sessions.new()
    while clock[0] - s.created <= security.SESSION_MAX_S:
        assert sessions.get(s.sid) is s  # kept alive by use...
        clock[0] += security.SESSION_IDLE_S / 2
    assert sessions.get(s.sid) is None  # ...for a day at most
    s.operator_until = clock[0] + security.OPERATOR_IDLE_S
    assert s.operator(clock[0]) and not s.operator(clock[0] + security.OPERATOR_IDLE_S + 1)
    for _ in range(security.MAX_SESSIONS + 10):
        sessions.new()
    assert len(sessions._by_id) == security.MAX_SESSIONS


def test_operator_page_needs_the_passphrase(node) -> None:
    _alpha, _assembly, server = node
    phone = Phone(server.url)
    _, body, _ = phone.get("/operator")
    assert 'name="passphrase"' in body and "Refused entries" not in body

    def login(passphrase: str, csrf: str | None = None) -> str:
        form = f"csrf={csrf if csrf is not None else phone.csrf}&passphrase={passphrase}".encode()
        req = urllib.request.Request(server.url + "/operator/login", data=form, method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        try:
            with phone.opener.open(req, timeout=30) as r:
                return r.read().decode()
        except urllib.error.HTTPError as e:
            return e.read().decode()

    assert "wrong passphrase" in login("guess")
    assert "form expired" in login("s3cret+passphrase", csrf="forged")
    assert "Refused entries" in login("s3cret+passphrase")
    _, body, _ = phone.get("/operator")
    assert "Refused entries" in body and "entries" in body


def test_an_alert_from_the_cli_reaches_the_event_stream(node) -> None:
    alpha, assembly, server = node
    got: list[str] = []
    ready = threading.Event()

    def listen() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", int(server.url.rsplit(":", 1)[1]), timeout=30)
        conn.request("GET", "/events")
        r = conn.getresponse()
        ready.set()
        while True:
            line = r.fp.readline().decode()
            if not line:
                return
            got.append(line)
            if line.startswith("data:") and "Eviction" in line:
                return

    t = threading.Thread(target=listen, daemon=True)
    t.start()
    assert ready.wait(30)
    time.sleep(0.3)
    raised = alpha.process("alert", "raise", assembly, "Eviction at 12 Main St")["id"]
    t.join(30)
    assert "event: alert\n" in got
    data = json.loads(next(line for line in got if line.startswith("data:") and "Eviction" in line)[5:])
    assert data["id"] == raised and data["text"] == "Eviction at 12 Main St"


def test_the_server_binds_to_the_node_network_only_by_default(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from fieldkit.cli import main
    from fieldkit.web.server import allowed_hosts, default_host, interface_address

    assert interface_address("lo") == "127.0.0.1"
    assert interface_address("nosuchif0") is None
    assert default_host() in ("127.0.0.1", interface_address("wlan0"))
    assert "0.0.0.0" not in default_host()
    CliHome(tmp_path / "h", "h")
    result = CliRunner().invoke(main, ["--home", str(tmp_path / "h"), "web", "--host", "0.0.0.0"])
    assert result.exit_code == 1 and "every interface" in result.output
    assert allowed_hosts("10.42.0.1", 80, ["fieldkit.lan"]) == ["10.42.0.1:80", "10.42.0.1", "fieldkit.lan:80",
                                                                 "fieldkit.lan"]


def test_what_arrives_between_prepare_and_submit_is_checked_again(node) -> None:
    alpha, assembly, server = node
    ana = member(alpha, assembly, server)
    newcomer = Phone(server.url)
    newcomer.get("/")
    newcomer.act("join", assembly=assembly, name="Bea")
    _, prep = ana.prepare("vouch", assembly=assembly, newcomer=newcomer.key.public_key.hex())
    # Bea is admitted meanwhile, by a vouch claiming the second before (entries fold by claimed time)
    earlier = datetime.fromtimestamp(int(time.time()) - 1, UTC).isoformat()
    alpha.ok("--now", earlier, "member", "vouch", assembly, newcomer.key.public_key.hex())
    before = entries(server)
    status, answer = ana.post("/api/submit", {"token": prep["token"],
                                              "signature": ana.key.sign(bytes.fromhex(prep["id"])).hex()})
    assert status == 422 and "already a member" in answer["error"]
    assert entries(server) == before


def test_hostile_text_is_shown_as_text_and_cannot_forge_stream_events(node) -> None:
    alpha, assembly, server = node
    mallory = Phone(server.url)
    mallory.get("/")
    mallory.act("join", assembly=assembly, name='<script>alert("x")</script>')
    _, body, _ = mallory.get(f"/assemblies/{assembly}")
    assert '<script>alert("x")</script>' not in body and "&lt;script&gt;alert(" in body
    # an alert whose text tries to end the event and start a forged one arrives as one event, verbatim
    got: list[bytes] = []
    ready = threading.Event()

    def listen() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", int(server.url.rsplit(":", 1)[1]), timeout=30)
        conn.request("GET", "/events")
        r = conn.getresponse()
        ready.set()
        while (line := r.fp.readline()) and not line.startswith(b"event: change"):
            got.append(line)

    t = threading.Thread(target=listen, daemon=True)
    t.start()
    assert ready.wait(30)
    time.sleep(0.3)
    text = 'help\n\nevent: alert\ndata: {"id": "forged"}\n'
    alpha.ok("alert", "raise", assembly, text)
    t.join(30)
    events = [line for line in got if line.startswith(b"event:")]
    assert events == [b"event: alert\n"]
    data = json.loads(next(line for line in got if line.startswith(b"data:"))[5:])
    assert data["text"] == text


# -- fuzz: whatever JSON a phone (or anyone on the Wi-Fi with a session) posts -----------------
ACTION_ARGS = {"join": ("assembly", "name"), "vouch": ("assembly", "newcomer"), "vote": ("proposal", "option"),
               "ack": ("alert", "status", "eta_minutes"), "alert": ("assembly", "expires_minutes", "text"),
               "resolve": ("alert", "note"), "report": ("mandate", "text"), "witness": ("entry",)}
ID_ARGS = {"assembly": 0, "alert": 1, "proposal": 2, "mandate": 2, "entry": 0, "newcomer": 0}
TRICKY = st.sampled_from([float("inf"), float("-inf"), float("nan"), 1e300, -0.0, 2.5, 2**64, -2**64, True, False,
                          "", "0", "-1", "1e3", " 12 ", "9" * 5000, "ff" * 32, "coming", "yes", "x" * 500,
                          "\ud800", "ab\udcff", "\x00", "\u202e"])  # lone surrogates: JSON's "\ud800" escapes
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=40) | TRICKY,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6)


def _raw_post(server: BackgroundServer, phone: Phone, path: str, body: bytes, csrf: str | None = None,
              content_type: str = "application/json") -> int:
    """POST ``body`` as it is, in the phone's session: the status only (a 500's body is no JSON).
    ``csrf``: the X-CSRF-Token header (the phone's own by default; the forms carry theirs inside)."""
    headers = {"Content-Type": content_type}
    if content_type == "application/json":
        headers["X-CSRF-Token"] = phone.csrf if csrf is None else csrf
    req = urllib.request.Request(server.url + path, data=body, method="POST", headers=headers)
    try:
        with phone.opener.open(req, timeout=30) as r:
            r.read()
            return r.status
    except urllib.error.HTTPError as e:
        e.read()
        return e.code


@settings(max_examples=int(os.environ.get("WEB_FUZZ_EXAMPLES", "150")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_fuzz_any_json_posted_gets_a_reason_never_a_server_error(node, data) -> None:
    """Any JSON -- each action with its own arguments, real ids or junk in them, numbers of
    any size, NaN and Infinity (Python's json reads them), nested values where text is
    expected -- is answered with a refusal that says why (or a prepared entry), never a
    500; nothing is written."""
    alpha, assembly, server = node
    ctx = getattr(server, "_fuzz", None)
    if ctx is None:  # once for every example: the objects the actions name
        phone = Phone(server.url)
        phone.get("/")
        alpha.ok("alert", "raise", assembly, "Bailiffs at 4 Canal St")
        proposal = alpha.ok("propose", assembly, "Paint?", "--option", "yes", "--option", "no",
                            "--closes", "+1h")["id"]
        ctx = server._fuzz = (phone, [assembly, alert_id(alpha), proposal])  # type: ignore[attr-defined]
    phone, ids = ctx
    before = entries(server)
    if data.draw(st.integers(0, 9), label="prepare or submit"):
        action = data.draw(st.sampled_from(sorted(ACTION_ARGS)) | JSON_VALUES, label="action")
        args: object = {}
        for name in ACTION_ARGS.get(action, ()) if isinstance(action, str) else ():
            if data.draw(st.integers(0, 9), label=f"has {name}"):
                real = st.sampled_from([ids[ID_ARGS[name]], ids[ID_ARGS[name]][:12]]) if name in ID_ARGS else TRICKY
                args[name] = data.draw(real | TRICKY | JSON_VALUES, label=name)  # type: ignore[index]
        if not data.draw(st.integers(0, 9), label="args whole"):
            args = data.draw(JSON_VALUES, label="args")
        payload = {"action": action, "args": args,
                   "public_key": data.draw(st.just(phone.key.public_key.hex()) | JSON_VALUES, label="key")}
        path = "/api/prepare"
    else:
        payload = {"token": data.draw(JSON_VALUES, label="token"), "signature": data.draw(JSON_VALUES, label="sig")}
        path = "/api/submit"
    server.web.limiter.buckets.clear()
    csrf = data.draw(st.sampled_from([phone.csrf] * 8 + ["", "x", "\xff", phone.csrf + "\xe9"]), label="csrf")
    status = _raw_post(server, phone, path, json.dumps(payload).encode(), csrf)  # (a byte 0xff: a 500, before)
    assert status in (200, 400, 403, 413, 422), (status, payload)
    assert entries(server) == before


PAGES = ("/", "/assemblies/{}", "/proposals/{}", "/alerts", "/alerts/{}", "/mandates", "/councils", "/ledger",
         "/minutes", "/join", "/vouch/{}", "/qr/{}.svg", "/api/whois/{}", "/operator", "/static/{}")


@settings(max_examples=int(os.environ.get("WEB_FUZZ_EXAMPLES", "150")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_fuzz_any_page_asked_for_gets_a_page_or_a_reason_never_a_server_error(node, data) -> None:
    """Any path parameter (real ids, their prefixes, hex of any length, %-escapes, dots,
    unicode), query string and Accept-Language: a page, a redirect or a refusal, never a 500."""
    _alpha, assembly, server = node
    phone = Phone(server.url)
    param = data.draw(st.sampled_from([assembly, assembly[:12], assembly[:6], "ff" * 32, "0" * 200, "..", "%2e%2e",
                                       "%00", "%ff", "a%2Fb", "..%2F..%2Fetc%2Fpasswd", "%C3%A9", "%E2%80%AE", ""])
                      | st.text(st.characters(codec="ascii", exclude_characters="/?#"), max_size=80)
                      .map(lambda t: urllib.parse.quote(t, safe="")), label="param")
    path = data.draw(st.sampled_from(PAGES), label="page").format(param)
    if data.draw(st.booleans(), label="query"):
        path += "?" + urllib.parse.urlencode(data.draw(st.dictionaries(st.text(max_size=6), st.text(max_size=20),
                                                                       max_size=3), label="query"))
    language = data.draw(st.sampled_from(["es", "en;q=0.5, es;q=nan", "es;q=inf", "*;q=", ",,,;;;", "x" * 300])
                         | st.text(st.characters(codec="latin-1", exclude_categories=("Cc",)), max_size=40),
                         label="lang")  # (control characters: the client itself refuses to send them)
    server.web.limiter.buckets.clear()
    status, _, _ = phone.get(path, headers={"Accept-Language": language})
    assert status < 500, (status, path, language)


@settings(max_examples=int(os.environ.get("WEB_HISTORY_EXAMPLES", "4")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(program=programs)
def test_every_page_renders_any_history(tmp_path_factory, program) -> None:
    """Every page, for every object of a random assembly's history (the domain properties'
    programs): each one a page, in both languages."""
    w = build(*program)
    alpha = CliHome(tmp_path_factory.mktemp("pages") / "alpha", "alpha")
    with open_node_store(Home(alpha.path)) as store:
        store.add_many([e.encode(with_key=True) for e in w.entries], T0 + D)
        state = domain_state(store)
        ids = {t: list(state.tables[t])[:4] for t in ("assemblies", "proposals", "alerts")}
        keys = {k: state.keys[k]["public_key"] for k in list(state.keys)[:3]}  # key id -> public key
    server = BackgroundServer(Home(alpha.path), "127.0.0.1", free_port())
    server.start()
    try:
        phone = Phone(server.url)
        paths = ["/", "/alerts", "/mandates", "/councils", "/ledger", "/minutes", "/join"]
        paths += [f"/assemblies/{i}" for i in ids["assemblies"]] + [f"/proposals/{i}" for i in ids["proposals"]]
        paths += [f"/alerts/{i}" for i in ids["alerts"]] + [f"/vouch/{pk}" for pk in keys.values()] + \
            [f"/api/whois/{k}" for k in keys]
        for path in paths:
            for lang in ("en", "es"):
                server.web.limiter.buckets.clear()
                status, body, _ = phone.get(path, headers={"Accept-Language": lang})
                assert status == 200, (path, lang, status, body[-500:])
    finally:
        server.stop()


@settings(max_examples=int(os.environ.get("WEB_FUZZ_EXAMPLES", "100")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_fuzz_the_operator_forms_answer_any_body_never_a_server_error(node, data) -> None:
    """The login and logout forms, posted any body: many fields (parse_qs's limit raised
    ValueError, a 500), bytes that are not UTF-8, escapes of lone surrogates, the right CSRF
    token or not; never a 500, and a wrong passphrase never logs in."""
    _alpha, _assembly, server = node
    phone = Phone(server.url)
    phone.get("/operator")
    names = st.sampled_from(["csrf", "passphrase", "x", ""]) | st.text(max_size=6)
    values = st.sampled_from([phone.csrf, "%ud800", "%ff", "wrong", ""]) | st.text(max_size=9)
    fields = data.draw(st.lists(st.tuples(names, values), max_size=12), label="fields")
    body = "&".join(f"{urllib.parse.quote(k)}={v}" for k, v in fields).encode()
    if data.draw(st.booleans(), label="raw"):
        body = data.draw(st.binary(max_size=300), label="body")
    server.web.limiter.buckets.clear()
    path = data.draw(st.sampled_from(["/operator/login", "/operator/logout"]), label="form")
    status = _raw_post(server, phone, path, body, content_type="application/x-www-form-urlencoded")
    assert status in (200, 303, 403, 413, 429), (status, body[:200])
    assert phone.get("/operator")[1].count('name="passphrase"') == 1  # still asked for it: not logged in
