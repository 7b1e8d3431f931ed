"""A realistic, seeded Control Room state: folders and taskbots, bot runners, run-as users."""

from __future__ import annotations

from .rng import stream
from .state import DIRECTORY, TASKBOT

API_USERNAME = "svc_sam"
API_PASSWORD = "Sam.Simulador.2026"  # noqa: S105 - fixed demo credential of the simulator
API_KEY = "sam-sim-api-key-0123456789abcdef"
API_USER_ID = 12

ROOT_PATH = "Automation Anywhere\\Bots"
_AREAS = ("Finanzas", "RRHH", "Operaciones", "Compras", "Ventas", "Logistica", "Calidad", "Legal")
_VERBS = ("Conciliacion", "Facturacion", "Altas", "Bajas", "Informe", "Carga", "Validacion", "Cierre",
          "Extraccion", "Envio", "Revision", "Cobros", "Pagos", "Nominas", "Inventario", "Pedidos")
_DESCRIPTIONS = {
    "Conciliacion": "Conciliación bancaria", "Facturacion": "Emisión de facturas",
    "Altas": "Altas de clientes", "Bajas": "Bajas de contratos", "Informe": "Informe diario",
    "Carga": "Carga de ficheros", "Validacion": "Validación de datos", "Cierre": "Cierre contable",
    "Extraccion": "Extracción de datos", "Envio": "Envío de notificaciones", "Revision": "Revisión de expedientes",
    "Cobros": "Gestión de cobros", "Pagos": "Gestión de pagos", "Nominas": "Cálculo de nóminas",
    "Inventario": "Recuento de inventario", "Pedidos": "Tramitación de pedidos",
}


def generate_state(files: int = 10, devices: int = 5, users: int = 5, seed: int = 0, *,
                   disconnected: int = 0) -> dict:
    """State dict for ``ControlRoomSimulator``.

    ``files`` taskbots under ``Automation Anywhere\\Bots\\<area>`` (plus the folders), ``devices``
    bot runners ``VMRPA<n>`` each with one default user (cycling over ``users`` run-as users with
    RUNTIME or ATTENDEDRUNTIME), the first ``disconnected`` devices DISCONNECTED, and the API
    account ``svc_sam`` (id 12; password ``API_PASSWORD``, API key ``API_KEY``).
    """
    rnd = stream(seed, "generate", f"{files}:{devices}:{users}")
    state_users = [{
        "id": API_USER_ID, "username": API_USERNAME, "password": API_PASSWORD, "apiKey": API_KEY,
        "licenseFeatures": ["DEVELOPMENT"], "disabled": False, "deleted": False,
        "multipleLoginAllowed": True, "description": "Cuenta de servicio de SAM",
    }]
    for i in range(users):
        licence = "RUNTIME" if rnd.random() < 0.25 else "ATTENDEDRUNTIME"
        state_users.append({
            "id": 700 + i, "username": f"svc_rpa{i + 1:02d}", "password": f"Pwd.rpa{i + 1:02d}",
            "apiKey": None, "licenseFeatures": [licence], "disabled": False, "deleted": False,
            "multipleLoginAllowed": False, "description": f"Usuario de ejecución {i + 1}",
        })
    state_devices = []
    for i in range(devices):
        default_users = [700 + (i % users)] if users else []
        state_devices.append({
            "id": 80 + i, "hostName": f"VMRPA{i + 1:02d}",
            "status": "DISCONNECTED" if i < disconnected else "CONNECTED",
            "type": "BOT_RUNNER", "defaultUserIds": default_users,
        })
    areas = _AREAS[:max(1, min(len(_AREAS), files // 3 + 1))]
    root_id = 5000
    state_files = [{"id": root_id, "parentId": 4999, "name": "Bots", "path": ROOT_PATH, "type": DIRECTORY,
                    "description": None}]
    area_ids = {}
    for j, area in enumerate(areas):
        area_ids[area] = root_id + 1 + j
        state_files.append({"id": root_id + 1 + j, "parentId": root_id, "name": area,
                            "path": f"{ROOT_PATH}\\{area}", "type": DIRECTORY, "description": None})
    for i in range(files):
        area = areas[i % len(areas)]
        verb = _VERBS[rnd.randrange(len(_VERBS))]
        name = f"P{(i + 1) * 10:04d}_{verb}"
        item = {"id": 5100 + i, "parentId": area_ids[area], "name": name,
                "path": f"{ROOT_PATH}\\{area}\\{name}", "type": TASKBOT, "compatible": True}
        if rnd.random() < 0.8:
            item["description"] = _DESCRIPTIONS[verb]
        elif rnd.random() < 0.5:
            item["description"] = None
        state_files.append(item)
    return {"users": state_users, "devices": state_devices, "files": state_files}
