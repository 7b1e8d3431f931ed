"""The embedded demo's sample: a small Control Room and the operators' robot settings.

Twelve devices (nine form the balancer's pool; one is reserved for a scheduled robot, one has a
disabled user and one is disconnected), eight taskbots, and robot settings whose combined demand
exceeds the pool, so the balancer has to apply priorities.
"""

from __future__ import annotations

from dataclasses import dataclass

API_USER = "svc_sam"
API_PASSWORD = "demo-Password-123"  # only for the simulated Control Room of the demo

BOTS_FOLDER = "Automation Anywhere\\Bots\\SAM"


@dataclass(frozen=True)
class RobotDemo:
    file_id: int
    name: str
    description: str
    online: bool = True
    active: bool = True
    min_equipos: int = 1
    max_equipos: int = -1
    prioridad: int = 100
    tickets_por_equipo: int | None = None
    tickets_iniciales: int = 0
    parametros: str | None = None


ROBOTS: tuple[RobotDemo, ...] = (
    RobotDemo(5101, "P0410_Conciliacion", "Conciliación bancaria", min_equipos=2, max_equipos=4,
              prioridad=10, tickets_por_equipo=5, tickets_iniciales=18,
              parametros='{"in_Ambiente": "DEMO", "in_NumRepeticion": 2}'),
    RobotDemo(5102, "P0520_AltaClientes", "Alta de clientes", min_equipos=1, max_equipos=3,
              prioridad=20, tickets_por_equipo=8, tickets_iniciales=20),
    RobotDemo(5103, "P0630_Facturacion", "Facturación electrónica", min_equipos=1, max_equipos=3,
              prioridad=30, tickets_por_equipo=10, tickets_iniciales=25),
    RobotDemo(5104, "P0710_Cobranza", "Gestión de cobranza", min_equipos=1, max_equipos=2,
              prioridad=50, tickets_por_equipo=10, tickets_iniciales=12),
    RobotDemo(5105, "P0815_Reclamos", "Atención de reclamos", min_equipos=1, max_equipos=2,
              prioridad=80, tickets_por_equipo=6, tickets_iniciales=6),
    RobotDemo(5106, "P0920_Nomina", "Cálculo de nómina", min_equipos=1, max_equipos=-1,
              prioridad=100, tickets_por_equipo=15, tickets_iniciales=12),
    RobotDemo(5107, "P1010_ReporteDiario", "Reporte diario (programado)", online=False,
              min_equipos=0, max_equipos=0),
    RobotDemo(5108, "P1120_Inventario", "Inventario (inactivo en SAM)", active=False),
)

SCHEDULED_ROBOT = 5107
SCHEDULED_DEVICE = 211  # VMRPA11, RUNTIME licence, outside the pool
DISCONNECTED_DEVICE = 212
DISABLED_USER = 710


def control_room_state() -> dict:
    """The simulated Control Room's initial state (A360_API §8.1)."""
    users = [
        {
            "id": 1, "username": API_USER, "password": API_PASSWORD, "apiKey": None,
            "licenseFeatures": ["DEVELOPMENT"], "disabled": False, "deleted": False,
            "multipleLoginAllowed": True,
        }
    ]
    devices = []
    for n in range(1, 13):
        user_id = 700 + n
        licence = "RUNTIME" if n == 11 else "ATTENDEDRUNTIME"
        users.append(
            {
                "id": user_id, "username": f"svc_rpa{n:02d}", "password": f"pw-{n:02d}",
                "apiKey": None, "licenseFeatures": [licence], "disabled": user_id == DISABLED_USER,
                "deleted": False, "multipleLoginAllowed": True,
            }
        )
        device_id = 200 + n
        devices.append(
            {
                "id": device_id, "hostName": f"VMRPA{n:02d}",
                "status": "DISCONNECTED" if device_id == DISCONNECTED_DEVICE else "CONNECTED",
                "type": "BOT_RUNNER", "defaultUserIds": [user_id],
            }
        )
    files = [
        {"id": 5000, "parentId": None, "name": "SAM", "path": BOTS_FOLDER,
         "type": "application/vnd.aa.directory", "description": None},
    ]
    for robot in ROBOTS:
        files.append(
            {
                "id": robot.file_id, "parentId": 5000, "name": robot.name,
                "path": f"{BOTS_FOLDER}\\{robot.name}", "type": "application/vnd.aa.taskbot",
                "description": robot.description, "compatible": True,
            }
        )
    return {"users": users, "devices": devices, "files": files}
