"""English and Spanish, chosen by the browser's Accept-Language (RFC 9110 §12.5.4)."""

from __future__ import annotations

LANGUAGES = ("en", "es")

MESSAGES: dict[str, tuple[str, str]] = {
    # key: (English, Spanish)
    "app": ("Assemblies", "Asambleas"),
    "home": ("Home", "Inicio"),
    "assemblies": ("Assemblies", "Asambleas"),
    "assembly": ("Assembly", "Asamblea"),
    "members": ("Members", "Integrantes"),
    "candidates": ("Asking to join", "Piden entrar"),
    "vouches": ("vouches", "avales"),
    "vouch": ("Vouch", "Avalar"),
    "vouch_for": ("Vouch for", "Avalar a"),
    "proposals": ("Proposals", "Propuestas"),
    "proposal": ("Proposal", "Propuesta"),
    "open": ("open", "abierta"),
    "closed": ("closed", "cerrada"),
    "closes": ("closes", "cierra"),
    "closed_at": ("closed", "cerró"),
    "quorum": ("quorum", "quórum"),
    "quorum_met": ("quorum met", "quórum alcanzado"),
    "quorum_not_met": ("quorum not met", "sin quórum"),
    "threshold": ("threshold", "umbral"),
    "voters": ("voters", "votantes"),
    "outcome": ("Outcome", "Resultado"),
    "passed": ("passed", "aprobada"),
    "failed": ("failed", "rechazada"),
    "late": ("late: entries seen long after the time they claim", "tardía: llegaron mucho después de su hora"),
    "contested": ("contested", "impugnada"),
    # deadline seals (fieldkit/domain/rules_deadlines.py)
    "late_act": ("late, not counted: dated before a deadline that other members' nodes sealed without it",
                 "tardío, no cuenta: fechado antes de un plazo que otros nodos sellaron sin él"),
    "contested_acts": ("contested: counting the late acts would change what is shown",
                       "impugnado: contar los actos tardíos cambiaría lo que se muestra"),
    "vote": ("Vote", "Votar"),
    "your_vote": ("Your vote", "Tu voto"),
    "change_vote": ("You can change your vote until the close.", "Puedes cambiar tu voto hasta el cierre."),
    "alerts": ("Alerts", "Alertas"),
    "alert": ("Alert", "Alerta"),
    "no_alerts": ("No open alerts.", "No hay alertas abiertas."),
    "coming": ("Coming", "Voy"),
    "not_coming": ("Not coming", "No voy"),
    "eta": ("In minutes", "En minutos"),
    "who_coming": ("Who is coming", "Quién va"),
    "raise_alert": ("Raise an alert", "Lanzar una alerta"),
    "raise_confirm": ("Send this alert to every member now?", "¿Enviar esta alerta a todas las personas ahora?"),
    "confirm": ("Yes, send it", "Sí, enviar"),
    "cancel": ("Cancel", "Cancelar"),
    "text": ("Text", "Texto"),
    "expires_minutes": ("Lasts (minutes)", "Dura (minutos)"),
    "resolve": ("Resolved", "Resuelta"),
    "status": ("Status", "Estado"),
    "mandates": ("Mandates", "Mandatos"),
    "mandate": ("Mandate", "Mandato"),
    "delegate": ("Delegate", "Delegada"),
    "scope": ("Scope", "Alcance"),
    "expires": ("expires", "vence"),
    "report_due": ("report due", "informe antes del"),
    "reports": ("Reports", "Informes"),
    "send_report": ("Send a report", "Enviar un informe"),
    "councils": ("Councils", "Consejos"),
    "council": ("Council", "Consejo"),
    "objective": ("Objective", "Objetivo"),
    "until": ("until", "hasta"),
    "decisions": ("Decisions", "Decisiones"),
    "ledger": ("Sovereignty ledger", "Registro de soberanía"),
    "ledger_short": ("Ledger", "Registro"),
    "per_month": ("Entries per month", "Entradas por mes"),
    "witnesses": ("witnesses", "testigos"),
    "witness": ("Witness", "Atestiguar"),
    "minutes": ("Minutes", "Actas"),
    "join": ("Join", "Unirme"),
    "join_title": ("Join an assembly", "Unirse a una asamblea"),
    "your_name": ("Your name", "Tu nombre"),
    "ask_to_join": ("Ask to join", "Pedir entrar"),
    "your_key": ("Your key", "Tu clave"),
    "show_code": ("Show this code or QR to members: they vouch for you with one tap.",
                  "Muestra este código o QR a integrantes: te avalan con un toque."),
    "qr_alt": ("QR code of your key, for vouching", "Código QR de tu clave, para avalarte"),
    "recovery": ("Recovery words", "Palabras de recuperación"),
    "recovery_help": ("Write these words on paper. They move your key to another phone. Anyone holding them "
                      "can sign as you.", "Anota estas palabras en papel. Llevan tu clave a otro teléfono. "
                      "Quien las tenga puede firmar como tú."),
    "restore": ("Restore from words", "Recuperar con palabras"),
    "new_key": ("Create my key", "Crear mi clave"),
    "forget_key": ("Remove the key from this phone", "Borrar la clave de este teléfono"),
    "no_js": ("Reading works without JavaScript; signing (joining, voting, answering) needs it.",
              "Leer funciona sin JavaScript; firmar (unirse, votar, responder) lo necesita."),
    "operator": ("Operator", "Operación"),
    "passphrase": ("Node passphrase", "Contraseña del nodo"),
    "log_in": ("Log in", "Entrar"),
    "log_out": ("Log out", "Salir"),
    "links": ("Links", "Enlaces"),
    "peers": ("Peers heard", "Nodos oídos"),
    "airtime": ("Airtime used (of the duty cycle)", "Tiempo de aire usado (del ciclo de trabajo)"),
    "outboxes": ("Outboxes", "Bandejas de salida"),
    "last_syncs": ("Last syncs", "Últimas sincronizaciones"),
    "refused": ("Refused entries", "Entradas rechazadas"),
    "sms_subscribers": ("SMS subscribers", "Suscripciones SMS"),
    "entries": ("entries", "entradas"),
    "none": ("none", "ninguno"),
    "not_running": ("The node service is not running in this process (start it with `node run --web`).",
                    "El servicio del nodo no corre en este proceso (inícialo con `node run --web`)."),
    "live": ("live", "en vivo"),
    "review": ("under review", "en revisión"),
    "proposed": ("proposed", "propuesto"),
    "expired": ("expired", "vencido"),
    "recalled": ("recalled", "revocado"),
    "resolved": ("resolved", "resuelta"),
    "need": ("need", "necesidad"),
    "warnings": ("Warnings", "Avisos"),
    "health": ("Health review", "Revisión de salud"),
    "not_found": ("Not found", "No encontrado"),
    "too_many": ("Too many requests: wait a moment.", "Demasiadas peticiones: espera un momento."),
    "refused_action": ("Refused", "Rechazado"),
    "done": ("Done", "Hecho"),
    "signing": ("Signing on this phone…", "Firmando en este teléfono…"),
    "no_key": ("This phone has no key yet: join first.", "Este teléfono aún no tiene clave: únete primero."),
    "new_alert": ("New alert", "Nueva alerta"),
    "roles": ("Roles", "Roles"),
    "founder": ("founder", "fundadora"),
    "you": ("you", "tú"),
}


def choose_language(accept_language: str | None) -> str:
    """The first supported language in the header's preference order (q-values honoured)."""
    if not accept_language:
        return "en"
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(accept_language.split(",")[:20]):  # a hostile header cannot cost much
        piece = part.strip().split(";")
        tag = piece[0].strip().lower()
        q = 1.0
        for param in piece[1:]:
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        ranked.append((-q, i, tag.split("-")[0]))
    for neg_q, _, lang in sorted(ranked):
        if neg_q < 0 and lang in LANGUAGES:
            return lang
    return "en"


def translator(lang: str):
    index = LANGUAGES.index(lang) if lang in LANGUAGES else 0

    def t(key: str) -> str:
        pair = MESSAGES.get(key)
        return key if pair is None else pair[index]

    return t
