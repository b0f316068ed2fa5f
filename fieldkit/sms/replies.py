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
        "help": "Commands: VOTE <prop> <option> <PIN>; ACK <alert> COMING/NO/ETA <min>; ALERT <text> <PIN>; "
                "REPORT <mandate> <text> <PIN>; STATUS; JOIN <assembly>; STOP",
        "send_help": "Send HELP for the commands.",
        "help_VOTE": "VOTE <proposal> <option> <PIN>, e.g. VOTE 3fa2c1 yes 1234",
        "help_ACK": "ACK <alert> COMING, ACK <alert> NO or ACK <alert> ETA 15",
        "help_ALERT": "ALERT <what and where> <PIN>, e.g. ALERT eviction at door 4 1234",
        "help_REPORT": "REPORT <mandate> <text> <PIN>",
        "help_JOIN": "JOIN <assembly>: asks to join; members then vouch for you",
        "help_STATUS": "STATUS: open alerts and votes",
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
        "status": "{alerts} open alert(s){alert_list}. {proposals} open vote(s){proposal_list}.",
    },
    "es": {
        "help": "Comandos: VOTO <prop> <opcion> <PIN>; RESP <alerta> VOY/NO/EN <min>; ALERTA <texto> <PIN>; "
                "INFORME <mandato> <texto> <PIN>; ESTADO; UNIRME <asamblea>; BAJA",
        "send_help": "Envia AYUDA para ver los comandos.",
        "help_VOTE": "VOTO <propuesta> <opcion> <PIN>, p.ej. VOTO 3fa2c1 si 1234",
        "help_ACK": "RESP <alerta> VOY, RESP <alerta> NO o RESP <alerta> EN 15",
        "help_ALERT": "ALERTA <que y donde> <PIN>, p.ej. ALERTA desalojo en portal 4 1234",
        "help_REPORT": "INFORME <mandato> <texto> <PIN>",
        "help_JOIN": "UNIRME <asamblea>: pide entrar; los miembros te avalan",
        "help_STATUS": "ESTADO: alertas y votaciones abiertas",
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
        "status": "{alerts} alerta(s) abierta(s){alert_list}. {proposals} votacion(es) abierta(s){proposal_list}.",
    },
}
WHAT = {
    "en": {"VOTE": "Vote", "ALERT": "Alert", "REPORT": "Report", "ACK": "Answer", "JOIN": "Join", "STATUS": "Status"},
    "es": {"VOTE": "Voto", "ALERT": "Alerta", "REPORT": "Informe", "ACK": "Respuesta", "JOIN": "Unirme",
           "STATUS": "Estado"},
}
EXAMPLES = {"VOTE": "VOTE 3fa2c1 yes 1234", "ALERT": "ALERT eviction at door 4 1234",
            "REPORT": "REPORT 9bc1d0 met the owner 1234"}


def short(entry_id: str) -> str:
    return entry_id[:SHORT_ID]


def render(lang: str, name: str, **values: object) -> str:
    table = TEMPLATES.get(lang, TEMPLATES["en"])
    return fold_to_gsm7(table[name].format(**values))


def help_text(lang: str, topic: str | None = None) -> str:
    table = TEMPLATES.get(lang, TEMPLATES["en"])
    return fold_to_gsm7(table.get(f"help_{topic}", table["help"]))


def what(lang: str, keyword: str) -> str:
    return WHAT.get(lang, WHAT["en"]).get(keyword, keyword)
