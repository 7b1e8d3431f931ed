"""``python -m demo.simulator``: run the Control Room simulator until SIGINT/SIGTERM/CTRL_BREAK.

Prints ``SIM_URL=http://<host>:<port>`` as its first, flushed stdout line. Exit codes: 0 after a
clean stop, 2 on bad arguments (Spanish parser of :mod:`common.cli`, also ``--version``) or an
unreadable state/config file.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading

from common.cli import ParserSAM

from .generate import generate_state
from .simulator import ControlRoomSimulator


def _generate_spec(text: str) -> dict:
    counts = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep or key.strip() not in ("files", "devices", "users") or not value.strip().isdigit():
            raise argparse.ArgumentTypeError(
                f"--generate espera files=N,devices=N,users=N (enteros >= 0), no {text!r}")
        counts[key.strip()] = int(value)
    return counts


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"puerto no válido: {text!r} (0-65535; 0 = uno libre)")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = ParserSAM("python -m demo.simulator",
                       "Simulador del Control Room de Automation Anywhere A360 para SAM.")
    parser.add_argument("--host", default="127.0.0.1", help="dirección de escucha [127.0.0.1]")
    parser.add_argument("--port", type=_port, default=0, help="puerto (0 = uno libre) [0]")
    parser.add_argument("--seed", type=int, default=None, help="semilla de todas las decisiones aleatorias [0]")
    parser.add_argument("--state", help="fichero JSON con el estado inicial (users, devices, files)")
    parser.add_argument("--config", help="fichero JSON con los parámetros (knobs) del simulador")
    parser.add_argument("--generate", type=_generate_spec, metavar="files=N,devices=N,users=N",
                        help="genera un estado realista con esos tamaños")
    parser.add_argument("--clock", choices=("real", "manual"), default=None, help="reloj [real]")
    parser.add_argument("--time-scale", type=float, default=None, help="segundos simulados por segundo real")
    parser.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.state and args.generate:
        parser.error("--state y --generate son incompatibles")
    knobs: dict = {}
    if args.clock:
        knobs["clock"] = args.clock
    if args.time_scale is not None:
        knobs["time_scale"] = args.time_scale
    try:
        state = generate_state(seed=args.seed or 0, **args.generate) if args.generate else None
        if args.state:
            with open(args.state, encoding="utf-8") as handle:
                state = json.load(handle)
        sim = ControlRoomSimulator(state, seed=args.seed, host=args.host, port=args.port,
                                   config=args.config, **knobs)
    except (OSError, ValueError) as exc:
        print(f"Error al iniciar el simulador: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        logging.getLogger("sam.demo.simulator").info("Señal %s recibida: deteniendo el simulador", signum)
        stop.set()

    for name in ("SIGINT", "SIGTERM", "SIGBREAK"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), on_signal)
    print(f"SIM_URL={sim.url}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        sim.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
