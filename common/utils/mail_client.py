"""E-mail alerts for critical failures (BEHAVIOUR §8).

* Transport: plain SMTP, STARTTLS (``EMAIL_USE_TLS``) or implicit TLS (``EMAIL_USE_SSL``), with
  certificate verification on (default SSL context); AUTH only when ``EMAIL_USER`` is set; every
  socket operation bounded by ``EMAIL_TIMEOUT_SEG``.
* Throttling: the same alert key produces at most one mail per ``EMAIL_INTERVALO_REPETICION_MIN``.
  A failed send does not count, so the next occurrence tries again.
* Recovery: ``send_recovery(key, ...)`` mails once, only if an alert for ``key`` went out (or was
  logged, when e-mail is not configured), and clears the key so a new failure alerts at once.
* Never raises: an SMTP problem is logged (Spanish) and the call returns False. Thread-safe.
* Secrets (``cfg.secrets()``) and token-like values are masked in subject and body.
"""

from __future__ import annotations

import html
import logging
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from common.clock import resolve_zone
from common.utils.alertas import plural
from common.utils.config_manager import Config, ajuste
from common.utils.redaccion import redactar

log = logging.getLogger("sam.common.alertas")


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


class EmailAlertClient:
    def __init__(self, cfg: Config, service: str, *, clock: Callable[[], float] = time.time,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.service = service
        self.server = (cfg.EMAIL_SMTP_SERVER or "").strip()
        self.port = int(cfg.EMAIL_SMTP_PORT)
        self.use_tls = bool(cfg.EMAIL_USE_TLS)
        self.use_ssl = bool(cfg.EMAIL_USE_SSL)
        self.user = cfg.EMAIL_USER or ""
        self._password = cfg.EMAIL_PASSWORD or ""
        self.timeout = float(cfg.EMAIL_TIMEOUT_SEG)
        self.interval_s = float(cfg.EMAIL_INTERVALO_REPETICION_MIN) * 60.0
        self._cfg = cfg  # EMAIL_RECIPIENTS is read at every send: it may change while the service runs (C6)
        self.sender = cfg.EMAIL_FROM or f"sam@{socket.gethostname()}"
        self.hostname = socket.gethostname()
        self._secrets = cfg.secrets()
        self._clock = clock
        try:
            self._zone = resolve_zone(cfg.SAM_ZONA_HORARIA)
        except ValueError:
            self._zone = resolve_zone("")
        self._ssl_context = ssl_context
        self._lock = threading.Lock()
        self._last_sent: dict[str, float] = {}   # key -> time of the last alert mail (or reservation)
        self._outstanding: set[str] = set()        # keys with an announced alert and no recovery yet
        self.sent_count = 0

    # ------------------------------------------------------------------ public API

    @property
    def recipients(self) -> list[str]:
        """The current ``EMAIL_RECIPIENTS`` (a live config may change them; C6)."""
        recipients = ajuste(self._cfg, "EMAIL_RECIPIENTS")
        if isinstance(recipients, str):
            recipients = recipients.replace(";", ",").split(",")
        return [r.strip() for r in recipients if r and r.strip()]

    @property
    def enabled(self) -> bool:
        return bool(self.server and self.recipients)

    def is_alerting(self, key: str) -> bool:
        with self._lock:
            return key in self._outstanding

    def send_alert(self, key: str, subject: str, body: str, level: str = "ERROR",
                   what_to_check: str = "") -> bool:
        """Mail an alert unless the same key was mailed within the repetition interval."""
        try:
            now = self._clock()
            with self._lock:
                last = self._last_sent.get(key)
                if last is not None and now - last < self.interval_s:
                    log.debug("Alerta '%s' suprimida (ya enviada hace %.0f s): %s", key, now - last, subject)
                    return False
                self._last_sent[key] = now          # reserve: concurrent callers are throttled
            if not self.enabled:
                log.warning("ALERTA [%s] %s (e-mail no configurado, solo se registra): %s",
                            level, self._clean(subject), self._clean(_one_line(body)))
                with self._lock:
                    self._outstanding.add(key)
                return False
            ok = self._send(f"[{level}] {subject}", body, level, what_to_check, key)
            with self._lock:
                if ok:
                    self._outstanding.add(key)
                elif self._last_sent.get(key) == now:
                    if last is None:
                        self._last_sent.pop(key, None)   # a failed send does not count
                    else:
                        self._last_sent[key] = last
            return ok
        except Exception:  # never let alerting break a service
            log.exception("Error inesperado al procesar la alerta '%s'", key)
            return False

    def send_recovery(self, key: str, subject: str, body: str) -> bool:
        """Announce once that ``key`` recovered (only if an alert for it was announced)."""
        try:
            with self._lock:
                if key not in self._outstanding:
                    return False
                self._outstanding.discard(key)
                self._last_sent.pop(key, None)
            if not self.enabled:
                log.warning("RECUPERADO %s (e-mail no configurado, solo se registra): %s",
                            self._clean(subject), self._clean(_one_line(body)))
                return False
            return self._send(f"[RECUPERADO] {subject}", body, "RECUPERADO", "", key)
        except Exception:
            log.exception("Error inesperado al procesar la recuperación '%s'", key)
            return False

    # ------------------------------------------------------------------ internals

    def _clean(self, text: str) -> str:
        return redactar(str(text), self._secrets)

    def _build(self, subject: str, body: str, level: str, what_to_check: str, key: str) -> EmailMessage:
        when = datetime.fromtimestamp(self._clock(), self._zone).strftime("%Y-%m-%d %H:%M:%S %Z")
        body = self._clean(body)
        what_to_check = self._clean(what_to_check)
        full_subject = self._clean(_one_line(f"[SAM][{self.service}]{subject}"))
        minutes = int(self.interval_s // 60)
        fields = [("Servicio", self.service), ("Servidor SAM", self.hostname), ("Fecha y hora", when),
                  ("Nivel", level), ("Clave de alerta", key)]
        text = "\n".join(f"{k}: {v}" for k, v in fields)
        text += f"\n\nQué pasó:\n{body}\n"
        if what_to_check:
            text += f"\nQué revisar:\n{what_to_check}\n"
        if level != "RECUPERADO":
            text += f"\n(La misma alerta no se repetirá durante {minutes} min.)\n"

        def esc(value: str) -> str:
            return html.escape(str(value)).replace("\n", "<br>\n")

        rows = "".join(f"<tr><th align='left'>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in fields)
        parts = [f"<html><body><h3>{esc(full_subject)}</h3><table>{rows}</table>",
                 f"<h4>Qué pasó</h4><p>{esc(body)}</p>"]
        if what_to_check:
            parts.append(f"<h4>Qué revisar</h4><p>{esc(what_to_check)}</p>")
        if level != "RECUPERADO":
            parts.append(f"<p><small>La misma alerta no se repetirá durante {minutes} min.</small></p>")
        parts.append("</body></html>")

        msg = EmailMessage()
        msg["Subject"] = full_subject
        msg["From"] = self.sender
        msg["To"] = ", ".join(self.recipients)
        msg["Date"] = formatdate(localtime=True)
        msg["Message-ID"] = make_msgid(domain=self.hostname or None)
        msg["X-SAM-Alert-Key"] = _one_line(key)
        msg.set_content(text)
        msg.add_alternative("".join(parts), subtype="html")
        return msg

    def _context(self) -> ssl.SSLContext:
        return self._ssl_context or ssl.create_default_context()

    def _send(self, subject: str, body: str, level: str, what_to_check: str, key: str) -> bool:
        msg = self._build(subject, body, level, what_to_check, key)
        mode = "SSL" if self.use_ssl else ("STARTTLS" if self.use_tls else "sin cifrar")
        try:
            if self.use_ssl:
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(self.server, self.port, timeout=self.timeout,
                                                      context=self._context())
            else:
                smtp = smtplib.SMTP(self.server, self.port, timeout=self.timeout)
            with smtp:
                if self.use_tls and not self.use_ssl:
                    smtp.starttls(context=self._context())
                    smtp.ehlo()
                if self.user:
                    smtp.login(self.user, self._password)
                refused = smtp.send_message(msg, from_addr=self.sender, to_addrs=self.recipients)
            if refused:
                log.warning("El servidor SMTP rechazó estos destinatarios: %s", ", ".join(refused))
            with self._lock:
                self.sent_count += 1
            enviados = len(self.recipients) - len(refused)
            log.info("Alerta enviada por e-mail a %s: %s", plural(enviados, "destinatario", "destinatarios"),
                     msg["Subject"])
            return True
        except Exception as exc:   # SMTPException, OSError, ssl.SSLError, timeouts...
            log.error("No se pudo enviar la alerta por e-mail vía %s:%s (%s): %s: %s. Alerta: %s",
                      self.server, self.port, mode, type(exc).__name__, self._clean(str(exc)), msg["Subject"])
            return False
