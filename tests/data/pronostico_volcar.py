"""Dump a demo run's SAM DB into the recorded history the forecast tests read (B15).

    python -m demo --duracion 240 --semilla 7 --carpeta /tmp/demo_pron2
    python tests/data/pronostico_volcar.py /tmp/demo_pron2 tests/data/pronostico_demo.json

Writes the robots (limits), their assignments, every ``HistoricoBalanceo`` row, every closed
execution of ``EjecucionesTodas`` (robot, equipo, state, end) and the current tickets of the rpa360
source; ``ahora`` is the moment of the dump (the last recorded event).
"""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path


def volcar(carpeta: Path) -> dict:
    sam = sqlite3.connect(carpeta / "sam.db")
    sam.row_factory = sqlite3.Row
    rpa = sqlite3.connect(carpeta / "rpa360.db")

    def filas(sql: str) -> list[dict]:
        return [dict(f) for f in sam.execute(sql)]

    historico = filas("SELECT HistoricoId, FechaBalanceo, RobotId, TicketsPendientes, EquiposAsignadosAntes, "
                      "EquiposAsignadosDespues, AccionTomada, CodigoMotivo FROM HistoricoBalanceo ORDER BY HistoricoId")
    ejecuciones = filas("SELECT EjecucionId, RobotId, EquipoId, Estado, FechaInicio, FechaFin FROM EjecucionesTodas "
                        "WHERE FechaFin IS NOT NULL ORDER BY EjecucionId")
    ahora = max([h["FechaBalanceo"] for h in historico] + [e["FechaFin"] for e in ejecuciones])
    return {
        "_origen": f"python -m demo ({carpeta.name}), volcado con tests/data/pronostico_volcar.py",
        "ahora": ahora,
        "robots": filas("SELECT RobotId, Robot, MinEquipos, MaxEquipos, TicketsPorEquipoAdicional, "
                        "PrioridadBalanceo, Activo, EsOnline, ExisteEnA360 FROM Robots ORDER BY RobotId"),
        "equipos": filas("SELECT EquipoId, Equipo, Licencia, EstadoA360, PermiteBalanceoDinamico, Activo_SAM, "
                         "UsuarioActivoA360 FROM Equipos ORDER BY EquipoId"),
        "asignaciones": filas("SELECT RobotId, EquipoId, Reservado, EsProgramado, AsignadoPor FROM Asignaciones "
                              "ORDER BY RobotId, EquipoId"),
        "tickets": {str(rid): n for _, rid, n in rpa.execute(
            "SELECT Robot, RobotId, CantidadTickets FROM TicketsPendientesPorRobot")},
        "historico": historico,
        "ejecuciones": ejecuciones,
    }


if __name__ == "__main__":
    datos = volcar(Path(sys.argv[1]))
    Path(sys.argv[2]).write_text(json.dumps(datos, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
