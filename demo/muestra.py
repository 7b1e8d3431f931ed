"""The embedded demo's sample: a small Control Room and the operators' robot settings.

Fourteen devices and ten taskbots. Two pools (B11): "Finanzas" (three robots, VMRPA01-03) and
"Operaciones" (two robots, VMRPA04-06); the general pool keeps one robot and VMRPA07-10 (VMRPA10's
user is disabled, VMRPA12 is disconnected). Finanzas asks for more VMs than it has, so with
``BALANCEADOR_AISLAMIENTO_ESTRICTO=false`` the balancer lends it the general pool's free VMs (B12).
Three scheduled robots sit on RUNTIME devices outside the balancer: a daily one (VMRPA11), a cyclic
one relaunched all through its window (VMRPA13) and a ``RangoMensual`` one (VMRPA14).
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
    RobotDemo(5109, "P1230_MonitorCorreo", "Monitor de buzón (cíclico)", online=False,
              min_equipos=0, max_equipos=0),
    RobotDemo(5110, "P1340_CierreMensual", "Cierre mensual (RangoMensual)", online=False,
              min_equipos=0, max_equipos=0),
)

SCHEDULED_ROBOT = 5107
SCHEDULED_DEVICE = 211  # VMRPA11, RUNTIME licence, outside the pool
DISCONNECTED_DEVICE = 212
DISABLED_USER = 710
CYCLIC_ROBOT = 5109
CYCLIC_DEVICE = 213  # VMRPA13, RUNTIME, reserved for the cyclic schedule
CYCLIC_WINDOW_MIN = 120  # the cyclic window opens a minute before the demo starts and lasts this long
MONTHLY_ROBOT = 5110
MONTHLY_DEVICE = 214  # VMRPA14, RUNTIME, reserved for the RangoMensual schedule
DEVICES = 14
RUNTIME_DEVICES = (SCHEDULED_DEVICE, CYCLIC_DEVICE, MONTHLY_DEVICE)


@dataclass(frozen=True)
class PoolDemo:
    pool_id: int
    nombre: str
    descripcion: str
    robots: tuple[int, ...]
    equipos: tuple[int, ...]


#: Robots and devices not listed here are in the general pool (PoolId NULL).
POOLS: tuple[PoolDemo, ...] = (
    PoolDemo(1, "Finanzas", "Conciliación, facturación y cobranza", (5101, 5103, 5104), (201, 202, 203)),
    PoolDemo(2, "Operaciones", "Altas de clientes y reclamos", (5102, 5105), (204, 205, 206)),
)


def pool_de_robot(robot_id: int) -> PoolDemo | None:
    return next((p for p in POOLS if robot_id in p.robots), None)


def pool_de_equipo(equipo_id: int) -> PoolDemo | None:
    return next((p for p in POOLS if equipo_id in p.equipos), None)


def nombre_equipo(equipo_id: int) -> str:
    return f"VMRPA{equipo_id - 200:02d}"


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
    for n in range(1, DEVICES + 1):
        user_id = 700 + n
        licence = "RUNTIME" if 200 + n in RUNTIME_DEVICES else "ATTENDEDRUNTIME"
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
