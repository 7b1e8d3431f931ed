"""Server-rendered SVG charts of the console (no JS library): :func:`serie_svg` draws tickets and
equipos of one robot over time. Pure: rows in, SVG text out; every label is XML-escaped."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape

ANCHO, ALTO, MARGEN = 720, 240, 40


def _puntos(valores: Sequence[tuple[float, float]], x0: float, x1: float, tope: float) -> str:
    ancho, alto = ANCHO - 2 * MARGEN, ALTO - 2 * MARGEN
    span = (x1 - x0) or 1.0
    return " ".join(f"{MARGEN + (x - x0) / span * ancho:.1f},{ALTO - MARGEN - (y / tope) * alto:.1f}"
                    for x, y in valores)


def serie_svg(titulo: str, serie: Sequence[tuple[datetime, int | None, int | None]]) -> str:
    """Tickets (solid, left scale) and equipos (dashed, right scale) of ``serie`` = (moment, tickets,
    equipos after the cycle). An empty series gives a chart that says so."""
    cab = (f'<svg xmlns="http://www.w3.org/2000/svg" class="grafico" viewBox="0 0 {ANCHO} {ALTO}" role="img" '
           f'aria-label="{escape(titulo)}"><title>{escape(titulo)}</title>')
    if not serie:
        return cab + f'<text x="{MARGEN}" y="{ALTO // 2}">Sin decisiones en el periodo.</text></svg>'
    xs = [m.timestamp() for m, _, _ in serie]
    tickets = [(x, float(t or 0)) for x, (_, t, _) in zip(xs, serie, strict=True)]
    equipos = [(x, float(e or 0)) for x, (_, _, e) in zip(xs, serie, strict=True)]
    tope_t = max(1.0, max(y for _, y in tickets))
    tope_e = max(1.0, max(y for _, y in equipos))
    partes = [cab,
              f'<line class="eje" x1="{MARGEN}" y1="{ALTO - MARGEN}" x2="{ANCHO - MARGEN}" y2="{ALTO - MARGEN}"/>',
              f'<polyline class="tickets" points="{_puntos(tickets, xs[0], xs[-1], tope_t)}"/>',
              f'<polyline class="equipos" points="{_puntos(equipos, xs[0], xs[-1], tope_e)}"/>',
              f'<text x="{MARGEN}" y="{MARGEN - 10}">tickets (máx. {int(tope_t)})</text>',
              f'<text x="{ANCHO - MARGEN - 150}" y="{MARGEN - 10}">equipos (máx. {int(tope_e)})</text>',
              f'<text x="{MARGEN}" y="{ALTO - 10}">{serie[0][0]:%Y-%m-%d %H:%M}</text>',
              f'<text x="{ANCHO - MARGEN - 110}" y="{ALTO - 10}">{serie[-1][0]:%Y-%m-%d %H:%M}</text>',
              "</svg>"]
    return "".join(partes)
