"""The command line of every SAM entry point: one Spanish argparse parser and the exit rules.

- ``--help`` and ``--version`` print and exit 0 before anything starts (no configuration, no log
  file, no database): the entry points parse their arguments first.
- An unknown or malformed argument is an error: a Spanish message on stderr, exit code 2.
- A service that stops on an error leaves a Spanish line on stderr, so NSSM's ``.stderr.log`` is
  never empty after a failed start (:func:`ejecutar_servicio`, :func:`salir_con_error`).
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
import traceback
from collections.abc import Callable

from common.utils.redaccion import redactar
from common.version import __version__

TEXTO_VERSION = f"SAM {__version__}"

#: argparse's English messages (Python 3.10-3.13) and their Spanish text, tried in order.
_TRADUCCIONES: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(a, re.S), b) for a, b in (
    (r"^unrecognized arguments: (.*)$", r"opción o argumento desconocido: \1"),
    (r"^the following arguments are required: (.*)$", r"faltan argumentos obligatorios: \1"),
    (r"^ambiguous option: (\S+) could match (.*)$", r"opción ambigua: \1 puede ser \2"),
    (r"^argument (.+?): invalid choice: (.+?) \(choose from (.*)\)$", r"argumento \1: valor no admitido \2 "
                                                                     r"(valores posibles: \3)"),
    (r"^argument (.+?): invalid (\S+) value: (.*)$", r"argumento \1: valor no válido \3"),
    (r"^argument (.+?): expected one argument$", r"argumento \1: falta su valor"),
    (r"^argument (.+?): expected at least one argument$", r"argumento \1: falta al menos un valor"),
    (r"^argument (.+?): expected (\d+) arguments?$", r"argumento \1: se esperan \2 valores"),
    (r"^argument (.+?): ignored explicit argument (.*)$", r"argumento \1: no admite valor (\2)"),
    (r"^argument (.+?): not allowed with argument (.*)$", r"argumento \1: incompatible con \2"),
    (r"^argument (.+?): (.*)$", r"argumento \1: \2"),
))


def traducir(mensaje: str) -> str:
    """argparse's error ``mensaje`` in Spanish (unchanged when it is already ours)."""
    for patron, texto in _TRADUCCIONES:
        if patron.match(mensaje):
            return patron.sub(texto, mensaje)
    return mensaje


class _FormatoAyuda(argparse.HelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):  # noqa: ANN001 - argparse's signature
        super().add_usage(usage, actions, groups, "uso: " if prefix is None else prefix)


class ParserSAM(argparse.ArgumentParser):
    """An ``ArgumentParser`` that speaks Spanish and always has ``-h/--help`` and ``--version``.

    Options must be spelt in full (no abbreviations), so a typo is an error, not another option.
    """

    def __init__(self, prog: str, description: str, *, epilog: str | None = None) -> None:
        super().__init__(prog=prog, description=description, epilog=epilog, add_help=False,
                         allow_abbrev=False, formatter_class=_FormatoAyuda)
        self._positionals.title = "argumentos"
        self._optionals.title = "opciones"
        self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS,
                          help="muestra esta ayuda y termina sin arrancar nada")
        self.add_argument("--version", action="version", version=TEXTO_VERSION,
                          help="muestra la versión de SAM y termina sin arrancar nada")

    def error(self, message: str) -> None:  # argparse calls this for every bad argument; exits 2
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: argumentos no válidos: {traducir(message)}\n"
                     f"Ejecute «{self.prog} --help» para ver las opciones.\n")


def parser_servicio(prog: str, description: str) -> ParserSAM:
    """The parser of a service entry point that takes no option of its own."""
    return ParserSAM(prog, description, epilog="Sin opciones, arranca el servicio con la configuración de "
                                               "los archivos .env y del entorno (ver .env.example).")


def salir_con_error(servicio: str, motivo: str, codigo: int = 1) -> int:
    """Write why ``servicio`` stops to stderr (NSSM's ``.stderr.log``) and return ``codigo``."""
    print(f"SAM {servicio}: {motivo} El servicio se detiene (código de salida {codigo}).", file=sys.stderr,
          flush=True)
    return codigo


def ejecutar_servicio(servicio: str, arrancar: Callable[[], int]) -> int:
    """Run a service's ``main``; an unexpected exception becomes a Spanish line on stderr (with the
    traceback after it, and in the service's log when it is already open) and exit code 1.

    ``SystemExit`` passes through: a configuration error has printed its problems (exit 2).
    """
    try:
        return arrancar()
    except Exception as exc:  # noqa: BLE001 - the last line of defence of a service process
        detalle = redactar(f"{type(exc).__name__}: {exc}")
        log = logging.getLogger("sam")
        if log.handlers:
            log.critical("%s se detiene por un error inesperado: %s", servicio, detalle, exc_info=True)
        codigo = salir_con_error(servicio, f"error inesperado: {detalle}.")
        print(redactar(traceback.format_exc()), file=sys.stderr, end="", flush=True)
        return codigo

