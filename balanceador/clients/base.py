"""The ticket-source interface of the Balanceador (BEHAVIOUR §7 B1, B2, B8).

A source (``rpa360``, ``clouders``, a test fake) is anything with a ``name``, a ``read()`` that
returns the pending tickets per robot or raises, and a ``close()``. Optional members, with the
defaults :func:`secrets_of` and :func:`max_read_seconds_of` apply when a source lacks them:

- ``secrets`` (list or callable): texts to redact from its error messages (default: none);
- ``max_read_seconds`` (number or callable): how long one read may take (default 120 s);
- ``mapped_names`` (sequence or callable): the SAM robot names the source is configured to feed
  whatever it reads (clouders: the ``MAPA_ROBOTS`` targets). Copied into every result, so a failed
  read still protects them (B8). Default: none.

A read's outcome is one :class:`SourceResult`; a failure is ``ok=False`` with an empty ``rows``
and a Spanish, secret-free ``error``. It is never read as "zero tickets" (BEHAVIOUR §10).

This module is the bottom of ``balanceador.clients``: the concrete sources and the generic reader
(``fuentes``) import it, and it imports nothing from the balancer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from common.utils.redaccion import redactar

#: One row of a read: (robot name in the source, SAM RobotId or None, pending tickets).
TicketRow = tuple[str, int | None, int]

#: Used when a source does not say how long one read may take.
DEFAULT_MAX_READ_SECONDS = 120.0
MAX_ERROR_LENGTH = 500


@dataclass(frozen=True)
class SourceResult:
    name: str  # "rpa360" | "clouders"
    ok: bool
    rows: tuple[TicketRow, ...]
    error: str | None  # Spanish, secret-free
    mapped_names: tuple[str, ...] = ()  # the source's configured SAM robot names (see above)


@runtime_checkable
class TicketSource(Protocol):
    name: str

    def read(self) -> list[TicketRow]:
        """Pending tickets per robot. Raises on failure (never returns [] to mean failure)."""
        ...

    def close(self) -> None: ...


class SourceError(Exception):
    """A ticket source could not be read. The message is Spanish and carries no secret."""


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret of the source masked (the one redaction of common/utils/redaccion)."""
    return redactar(text, secrets)


def describe_error(exc: BaseException, secrets: Iterable[str] = ()) -> str:
    """A Spanish, secret-free, single-line description of a read failure."""
    if isinstance(exc, SourceError):
        text = str(exc)
    else:
        detail = str(exc).strip() or repr(exc)
        text = f"error inesperado ({type(exc).__name__}): {detail}"
    text = " ".join(redact(text, secrets).split())
    if len(text) > MAX_ERROR_LENGTH:
        text = text[: MAX_ERROR_LENGTH - 3] + "..."
    return text


def normalize_rows(rows: Any, source_name: str) -> tuple[TicketRow, ...]:
    """Validate what a source returned. Anything malformed is a failure of that source."""
    if not isinstance(rows, (list, tuple)):
        raise SourceError(
            f"la fuente {source_name!r} devolvió un resultado no válido ({type(rows).__name__})"
        )
    out: list[TicketRow] = []
    for row in rows:
        try:
            name, robot_id, count = row
        except (TypeError, ValueError) as exc:
            raise SourceError(f"la fuente {source_name!r} devolvió una fila no válida: {row!r}") from exc
        if not isinstance(name, str) or isinstance(count, bool) or not isinstance(count, int):
            raise SourceError(f"la fuente {source_name!r} devolvió una fila no válida: {row!r}")
        if robot_id is not None and (isinstance(robot_id, bool) or not isinstance(robot_id, int)):
            raise SourceError(f"la fuente {source_name!r} devolvió un RobotId no válido: {row!r}")
        if count < 0:
            raise SourceError(f"la fuente {source_name!r} devolvió una cantidad negativa: {row!r}")
        out.append((name, robot_id, count))
    return tuple(out)


def name_of(source: Any) -> str:
    return str(getattr(source, "name", "?"))


def secrets_of(source: Any) -> list[str]:
    """The source's optional ``secrets`` (never raises)."""
    try:
        secrets = getattr(source, "secrets", ())
        return [s for s in (secrets() if callable(secrets) else secrets) if isinstance(s, str) and s]
    except Exception:
        return []


def mapped_names_of(source: Any) -> tuple[str, ...]:
    """The source's optional ``mapped_names`` (never raises)."""
    try:
        names = getattr(source, "mapped_names", ())
        return tuple(n for n in (names() if callable(names) else names) if isinstance(n, str))
    except Exception:
        return ()


def max_read_seconds_of(source: Any) -> float:
    """The source's optional ``max_read_seconds``, or the default when missing or not positive."""
    value = getattr(source, "max_read_seconds", None)
    try:
        value = float(value() if callable(value) else value)
    except (TypeError, ValueError):
        return DEFAULT_MAX_READ_SECONDS
    return value if value > 0 else DEFAULT_MAX_READ_SECONDS
