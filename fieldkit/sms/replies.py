"""Reply texts in English and Spanish; each restates what was understood.

Replies are folded into GSM-7 where the meaning survives (``votación``→``votacion``): one
``ó`` would turn a 160-character SMS into a 70-character one (docs/research/sms.md 1.2).
Ids are shown short (the first 6 hex digits) — people type them back as prefixes.
"""

from __future__ import annotations

from radio.sms.segment import fold_to_gsm7

SHORT_ID = 6

TEMPLATES: dict[str, dict[str, str]] = {
    "en": {
        "help": "Commands: VOTE <prop> <opt> <PIN>; ABOUT <prop>; ACK <alert> COMING/NO/ETA <min>; "
                "ALERT <text> <PIN>; REPORT <mand> <text> <PIN>; STATUS; JOIN <assembly>; STOP",
        "send_help": "Send HELP for the commands.",
        "help_VOTE": "VOTE <proposal> <option> <PIN>, e.g. VOTE 3fa2c1 yes 1234",
        "help_ACK": "ACK <alert> COMING, ACK <alert> NO or ACK <alert> ETA 15",
        "help_ALERT": "ALERT <what and where> <PIN>, e.g. ALERT eviction at door 4 1234",
        "help_REPORT": "REPORT <mandate> <text> <PIN>",
        "help_JOIN": "JOIN <assembly>: asks to join; members then vouch for you",
        "help_STATUS": "STATUS: open alerts and votes",
        "help_ABOUT": "ABOUT <proposal>: what a vote is about, e.g. ABOUT 3fa2c1",
        "about": "{id}: {what}. Options: {options}. {closes} Vote: VOTE {id} <option> <PIN>",
        "closes_at": "Closes {when}.",
        "closed_at": "Closed {when}: {outcome}.",
        "vote_open": "New vote {id} ({assembly}): {what}. Options {options}, closes {when}. "
                     "VOTE {id} <option> <PIN> or ABOUT {id}",
        "not_enrolled": "This number is not enrolled. Ask your assembly to enrol you. Send HELP for commands.",
        "unknown": "Not understood ({reason}). {help}",
        "notice": "Note: SMS can be read by the phone company. Do not send names or addresses you want kept private.",
        "stopped": "You will get no more SMS from this node. Send START to come back.",
        "started": "Welcome back: you will get SMS from this node again. Send HELP for commands.",
        "pin_missing": "{what}: your PIN is missing. Add it at the end, e.g. {example}",
        "pin_wrong": "{what}: wrong PIN. Nothing was done.",
        "pin_locked": "Too many wrong PINs. Try again after {minutes} min. Nothing was done.",
        "no_held_key": "{what}: this number signs with its own device, not by SMS. Nothing was done.",
        "vote_ok": "Vote counted: proposal {proposal}, option {option}.",
        "ack_coming": "Got it: you are coming to alert {alert}.",
        "ack_not_coming": "Got it: you are not coming to alert {alert}.",
        "ack_eta": "Got it: you arrive at alert {alert} in {eta} min.",
        "alert_ok": "Alert {alert} raised and sent to responders: {text}",
        "report_ok": "Report on mandate {mandate} recorded.",
        "join_ok": "Join request for {assembly} recorded. Members must vouch for you.",
        "refused": "{what} not done: {reason}",
        "incomplete": "Part of your message was lost on the way. Please send it again.",
        "alert_fanout": "ALERT {alert}: {text} -- Reply ACK {alert} COMING, ACK {alert} NO or ACK {alert} ETA <min>",
        "alert_fanout_unconfirmed": "ALERT {alert} (not yet confirmed): {text}",
        "status": "{alerts} open alert(s){alert_list}. {proposals} open vote(s){proposal_list}.",
    },
    "es": {
        "help": "Comandos: VOTO <prop> <opc> <PIN>; QUE <prop>; RESP <alerta> VOY/NO/EN <min>; "
                "ALERTA <texto> <PIN>; INFORME <mand> <texto> <PIN>; ESTADO; UNIRME <asamb>; BAJA",
        "send_help": "Envia AYUDA para ver los comandos.",
        "help_VOTE": "VOTO <propuesta> <opcion> <PIN>, p.ej. VOTO 3fa2c1 si 1234",
        "help_ACK": "RESP <alerta> VOY, RESP <alerta> NO o RESP <alerta> EN 15",
        "help_ALERT": "ALERTA <que y donde> <PIN>, p.ej. ALERTA desalojo en portal 4 1234",
        "help_REPORT": "INFORME <mandato> <texto> <PIN>",
        "help_JOIN": "UNIRME <asamblea>: pide entrar; los miembros te avalan",
        "help_STATUS": "ESTADO: alertas y votaciones abiertas",
        "help_ABOUT": "QUE <propuesta>: de que trata una votacion, p.ej. QUE 3fa2c1",
        "about": "{id}: {what}. Opciones: {options}. {closes} Vota: VOTO {id} <opcion> <PIN>",
        "closes_at": "Cierra {when}.",
        "closed_at": "Cerrada {when}: {outcome}.",
        "vote_open": "Nueva votacion {id} ({assembly}): {what}. Opciones {options}, cierra {when}. "
                     "VOTO {id} <opcion> <PIN> o QUE {id}",
        "not_enrolled": "Este numero no esta inscrito. Pide a tu asamblea que te inscriba. Envia AYUDA.",
        "unknown": "No entendido ({reason}). {help}",
        "notice": "Aviso: la compania telefonica puede leer los SMS. No envies nombres ni direcciones privadas.",
        "stopped": "No recibiras mas SMS de este nodo. Envia ALTA para volver.",
        "started": "Bienvenida de nuevo: recibiras SMS de este nodo. Envia AYUDA.",
        "pin_missing": "{what}: falta tu PIN. Anadelo al final, p.ej. {example}",
        "pin_wrong": "{what}: PIN incorrecto. No se hizo nada.",
        "pin_locked": "Demasiados PIN incorrectos. Prueba en {minutes} min. No se hizo nada.",
        "no_held_key": "{what}: este numero firma con su propio aparato, no por SMS. No se hizo nada.",
        "vote_ok": "Voto contado: propuesta {proposal}, opcion {option}.",
        "ack_coming": "Recibido: vas a la alerta {alert}.",
        "ack_not_coming": "Recibido: no vas a la alerta {alert}.",
        "ack_eta": "Recibido: llegas a la alerta {alert} en {eta} min.",
        "alert_ok": "Alerta {alert} lanzada y enviada: {text}",
        "report_ok": "Informe del mandato {mandate} registrado.",
        "join_ok": "Solicitud para unirte a {assembly} registrada. Los miembros deben avalarte.",
        "refused": "{what} no hecho: {reason}",
        "incomplete": "Parte de tu mensaje se perdio. Envialo de nuevo, por favor.",
        "alert_fanout": "ALERTA {alert}: {text} -- Responde RESP {alert} VOY, RESP {alert} NO o RESP {alert} EN <min>",
        "alert_fanout_unconfirmed": "ALERTA {alert} (sin confirmar): {text}",
        "status": "{alerts} alerta(s) abierta(s){alert_list}. {proposals} votacion(es) abierta(s){proposal_list}.",
    },
}
WHAT = {
    "en": {"VOTE": "Vote", "ALERT": "Alert", "REPORT": "Report", "ACK": "Answer", "JOIN": "Join", "STATUS": "Status",
           "ABOUT": "About"},
    "es": {"VOTE": "Voto", "ALERT": "Alerta", "REPORT": "Informe", "ACK": "Respuesta", "JOIN": "Unirme",
           "STATUS": "Estado", "ABOUT": "Que"},
}
EXAMPLES = {"VOTE": "VOTE 3fa2c1 yes 1234", "ALERT": "ALERT eviction at door 4 1234",
            "REPORT": "REPORT 9bc1d0 met the owner 1234"}


def short(entry_id: str) -> str:
    return entry_id[:SHORT_ID]


def render(lang: str, name: str, **values: object) -> str:
    table = TEMPLATES.get(lang, TEMPLATES["en"])
    return fold_to_gsm7(table[name].format(**values))


SMS_CHARS = 160  # one GSM-7 part (docs/research/sms.md 1.2)


def render_fit(lang: str, name: str, what: str, **values: object) -> str:
    """``render`` with ``what`` cut so that the whole text stays one SMS part."""
    room = SMS_CHARS - len(render(lang, name, what="", **values))
    what = fold_to_gsm7(what)
    if len(what) > room:
        what = what[: max(0, room - 3)].rstrip(" .,;") + "..."
    return render(lang, name, what=what, **values)


def help_text(lang: str, topic: str | None = None) -> str:
    table = TEMPLATES.get(lang, TEMPLATES["en"])
    return fold_to_gsm7(table.get(f"help_{topic}", table["help"]))


def what(lang: str, keyword: str) -> str:
    return WHAT.get(lang, WHAT["en"]).get(keyword, keyword)


# -- what a vote is about, in the member's language -----------------------------------------
MOTIONS: dict[str, dict[str, str]] = {
    "en": {
        "proposal": "{text}",
        "propose_removal": "remove {who} from {assembly}",
        "propose_role": "{who} as {role} from {start} to {end}",
        "propose_mandate": "mandate {who}: {scope}; until {expires}",
        "propose_renew": "renew the mandate of {who} ({scope}) until {expires}",
        "propose_recall": "recall the mandate of {who} ({scope})",
        "propose_council_close": "close the council: {text}",
        "propose_campaign": "campaign: {text}; from the new moon {start} to {end}",
        "propose_campaign_renew": "renew the campaign: {text}; until the new moon {end}",
    },
    "es": {
        "proposal": "{text}",
        "propose_removal": "dar de baja a {who} de {assembly}",
        "propose_role": "{who} en {role} del {start} al {end}",
        "propose_mandate": "mandato para {who}: {scope}; hasta {expires}",
        "propose_renew": "renovar el mandato de {who} ({scope}) hasta {expires}",
        "propose_recall": "revocar el mandato de {who} ({scope})",
        "propose_council_close": "cerrar el consejo: {text}",
        "propose_campaign": "campana: {text}; de la luna nueva {start} a {end}",
        "propose_campaign_renew": "renovar la campana: {text}; hasta la luna nueva {end}",
    },
}
ROLES = {"es": {"facilitator": "facilitacion", "delegate": "delegacion", "secretary": "secretaria",
                "treasurer": "tesoreria", "spokesperson": "portavocia"}}
OUTCOMES = {
    "en": {"quorum": "not enough voters", "tie": "a tie", "threshold": "no option had enough votes",
           "passed": "passed ({option})"},
    "es": {"quorum": "no voto bastante gente", "tie": "empate", "threshold": "ninguna opcion tuvo bastantes votos",
           "passed": "aprobada ({option})"},
}
OPTION_WORDS = {"es": {"yes": "si", "no": "no"}}


def sms_time(t: int) -> str:
    """``02/12 18:00 CET``: short, local, with the zone."""
    from datetime import datetime

    return datetime.fromtimestamp(t).astimezone().strftime("%d/%m %H:%M %Z")


def describe(lang: str, facts: dict) -> str:
    """A motion in a few words: whom it concerns, which role and term, the new expiry."""
    table = MOTIONS.get(lang, MOTIONS["en"])
    values = {k: (sms_time(v) if k in ("start", "end", "expires") and isinstance(v, int) else v)
              for k, v in facts.items()}
    values["role"] = ROLES.get(lang, {}).get(str(facts.get("role", "")), facts.get("role", ""))
    values["text"] = str(facts.get("text", ""))[:120]
    values["scope"] = str(facts.get("scope", ""))[:60]
    return table.get(facts["kind"], "{text}").format_map(_Blank(values))


def options(lang: str, names: list[str]) -> str:
    words = OPTION_WORDS.get(lang, {})
    return "/".join(words.get(o, o) for o in names)


def outcome(lang: str, facts: dict) -> str:
    table = OUTCOMES.get(lang, OUTCOMES["en"])
    if facts.get("failed"):
        return table[facts["failed"]]
    return table["passed"].format(option=options(lang, [facts.get("outcome") or ""]))


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return "?"


# -- refusals in the member's language, without advice meant for the command line ----------
REASONS: list[tuple[str, dict[str, str]]] = [
    (r"not a member of (?P<name>.+?): .*vouch", {"en": "you are not a member of {name} yet: members must vouch for you",
                                                 "es": "aun no eres miembro de {name}: te deben avalar"}),
    (r"removed from (?P<name>.+?) by decision", {"en": "you were removed from {name}",
                                                 "es": "te dieron de baja de {name}"}),
    (r"cast after the close", {"en": "the vote has closed", "es": "la votacion ya cerro"}),
    (r"late: claimed before the deadline",
     {"en": "too late: other members' nodes had closed that deadline without it",
      "es": "demasiado tarde: otros nodos ya habian cerrado ese plazo sin esto"}),
    (r"no option '(?P<opt>[^']*)': choose one of (?P<opts>.+)", {"en": "no option '{opt}': choose {opts}",
                                                                 "es": "no hay opcion '{opt}': elige {opts}"}),
    (r"no (?P<what>proposal|mandate|alert|assembly) with id '(?P<id>[^']*)'",
     {"en": "no {what} number '{id}'", "es": "no hay {what_es} con numero '{id}'"}),
    (r"id '(?P<id>[^']*)' is ambiguous", {"en": "number '{id}' fits several: send more digits",
                                          "es": "el numero '{id}' vale para varias: envia mas cifras"}),
    (r"alert \w+ is already (?P<state>resolved|expired)", {"en": "that alert is already {state}",
                                                          "es": "esa alerta ya esta cerrada"}),
    (r"only the delegate", {"en": "only the delegate reports on this mandate",
                            "es": "solo la persona delegada informa de este mandato"}),
    (r"mandate \w+ is (?P<state>expired|recalled|rejected|proposed)", {"en": "the mandate is {state}",
                                                                       "es": "el mandato no esta vigente"}),
    (r"key revoked", {"en": "your key was revoked", "es": "tu clave fue revocada"}),
    (r"you are in no assembly yet", {"en": "you are in no assembly yet", "es": "aun no estas en ninguna asamblea"}),
    (r"you are in several assemblies", {"en": "you are in several assemblies: ask to set your alert assembly",
                                        "es": "estas en varias asambleas: pide que fijen la de tus alertas"}),
    (r"not seen yet", {"en": "this node does not have it yet: try again later",
                       "es": "este nodo aun no lo tiene: prueba mas tarde"}),
    (r"is not a mandate", {"en": "that number is not a mandate", "es": "ese numero no es un mandato"}),
    (r"not a member of that assembly", {"en": "that vote is not of your assembly",
                                        "es": "esa votacion no es de tu asamblea"}),
    (r"already a member", {"en": "you are already a member", "es": "ya eres miembro"}),
]
WHAT_ES = {"proposal": "votacion", "mandate": "mandato", "alert": "alerta", "assembly": "asamblea"}
FALLBACK = {"en": "the assembly's rules do not count it", "es": "las reglas de la asamblea no lo cuentan"}


def reason(lang: str, text: str) -> str:
    """A refusal's reason for a phone: in the member's language, with no command-line advice."""
    import re

    core = text.split(" — ", 1)[0]  # the hint after the dash names CLI commands
    for pattern, words in REASONS:
        m = re.search(pattern, core)
        if m:
            values = m.groupdict()
            if "what" in values:
                values["what_es"] = WHAT_ES.get(values["what"], values["what"])
            return words.get(lang, words["en"]).format(**values)
    if lang == "en" and "fieldkit" not in core:
        return core
    return FALLBACK.get(lang, FALLBACK["en"])


PARSE_REASONS: list[tuple[str, dict[str, str]]] = [
    (r"unknown command '(?P<w>[^']*)'", {"en": "unknown command '{w}'", "es": "comando desconocido '{w}'"}),
    (r"empty message", {"en": "empty message", "es": "mensaje vacio"}),
    (r"needs", {"en": "some words are missing", "es": "faltan palabras"}),
    (r"answer '(?P<w>[^']*)' not understood", {"en": "answer '{w}' not understood",
                                               "es": "respuesta '{w}' no entendida"}),
    (r"more than a day", {"en": "an ETA is at most a day", "es": "el tiempo de llegada es de un dia como mucho"}),
]


def parse_reason(lang: str, text: str) -> str:
    """Why a message was not understood, in the member's language."""
    import re

    for pattern, words in PARSE_REASONS:
        m = re.search(pattern, text)
        if m:
            return words.get(lang, words["en"]).format(**m.groupdict())
    return text if lang == "en" else "no entendido"
