"""The package layout holds (ARCHITECTURE §8.2): no import cycle, no upward import, small functions.

The import graph is read from the source (every ``import`` and ``from … import``, also the ones
inside functions, which is how a cycle is usually hidden) of the service packages.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAQUETES = ("common", "lanzador", "balanceador", "callback", "comprobar", "consola")

#: Functions allowed over the size limit, with the reason (none today).
FUNCIONES_LARGAS: dict[str, str] = {}
MAX_LINEAS = 80


def _modulos() -> dict[str, Path]:
    out = {}
    for paquete in PAQUETES:
        for ruta in sorted((ROOT / paquete).rglob("*.py")):
            partes = list(ruta.relative_to(ROOT).with_suffix("").parts)
            if partes[-1] == "__init__":
                partes.pop()
            out[".".join(partes)] = ruta
    return out


def _importados(nombre: str, ruta: Path, modulos: set[str]) -> set[str]:
    """The project modules ``nombre`` imports (a name imported from a package counts as its module)."""
    paquete = nombre if ruta.name == "__init__.py" else nombre.rpartition(".")[0]
    out: set[str] = set()
    for nodo in ast.walk(ast.parse(ruta.read_text(encoding="utf-8"))):
        if isinstance(nodo, ast.Import):
            candidatos = [a.name for a in nodo.names]
        elif isinstance(nodo, ast.ImportFrom):
            base = nodo.module or ""
            if nodo.level:
                partes = paquete.split(".")
                base = ".".join(partes[: len(partes) - nodo.level + 1] + ([base] if base else []))
            candidatos = [f"{base}.{a.name}" for a in nodo.names] + [base]
        else:
            continue
        for c in candidatos:
            while c and c not in modulos:
                c = c.rpartition(".")[0]
            if c and c != nombre:
                out.add(c)
    return out


def _grafo() -> dict[str, set[str]]:
    modulos = _modulos()
    return {n: _importados(n, r, set(modulos)) for n, r in modulos.items()}


def _ciclos(grafo: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    indice: dict[str, int] = {}
    bajo: dict[str, int] = {}
    pila: list[str] = []
    en_pila: set[str] = set()
    out: list[list[str]] = []

    def visitar(v: str) -> None:
        indice[v] = bajo[v] = len(indice)
        pila.append(v)
        en_pila.add(v)
        for w in grafo.get(v, ()):
            if w not in indice:
                visitar(w)
                bajo[v] = min(bajo[v], bajo[w])
            elif w in en_pila:
                bajo[v] = min(bajo[v], indice[w])
        if bajo[v] == indice[v]:
            comp = []
            while True:
                w = pila.pop()
                en_pila.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(grafo):
        if v not in indice:
            visitar(v)
    return out


def test_no_import_cycle_between_modules():
    assert _ciclos(_grafo()) == []


def test_cycle_finder_sees_a_cycle():
    assert _ciclos({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _prohibido(origen: str, destino: str) -> str | None:
    raiz_o, raiz_d = origen.split(".")[0], destino.split(".")[0]
    if raiz_d == "comprobar" and raiz_o != "comprobar":
        return "la comprobación de la configuración está por encima de los servicios: nadie la importa"
    if raiz_o == "common" and raiz_d != "common":
        return "common no importa ningún servicio"
    if {raiz_o, raiz_d} == {"lanzador", "balanceador"}:
        return "el Lanzador y el Balanceador no se importan entre sí"
    if raiz_o == "callback" and raiz_d not in ("callback", "common"):
        return "el servicio de callbacks sólo usa common"
    if raiz_o == "lanzador" and raiz_d == "callback" and origen != "lanzador.service.callback_server":
        return "sólo el shim antiguo del Lanzador apunta al servicio de callbacks"
    capa_o, capa_d = origen.split(".")[1:2], destino.split(".")[1:2]
    if raiz_o == raiz_d and capa_o == ["database"] and capa_d in (["service"], ["clients"]):
        return "database/ no importa de service/ ni de clients/"
    if origen == "balanceador.modelo" and raiz_d != "common":
        return "el modelo del Balanceador no importa nada del servicio"
    return None


def test_no_upward_import():
    malos = [f"{o} -> {d}: {motivo}" for o, destinos in sorted(_grafo().items()) for d in sorted(destinos)
             if (motivo := _prohibido(o, d))]
    assert malos == []


def test_upward_rules_refuse_the_forms_they_name():
    assert _prohibido("common.database.ejecuciones", "lanzador.database.inventario")
    assert _prohibido("lanzador.service.main", "balanceador.modelo")
    assert _prohibido("balanceador.database.repositorio", "balanceador.service.balanceo")
    assert _prohibido("callback.app", "lanzador.service.desplegador")
    assert _prohibido("lanzador.database.seleccion", "common.database.sentencias") is None
    assert _prohibido("comprobar", "lanzador.clients.aa_client") is None  # the tool above every service
    assert _prohibido("common.utils.config_manager", "comprobar")


def _funciones():
    for nombre, ruta in _modulos().items():
        for nodo in ast.walk(ast.parse(ruta.read_text(encoding="utf-8"))):
            if isinstance(nodo, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield f"{nombre}.{nodo.name}", nodo.end_lineno - nodo.lineno + 1


def test_no_function_over_80_lines_in_the_service_packages():
    largas = {f: n for f, n in _funciones() if n > MAX_LINEAS and f not in FUNCIONES_LARGAS}
    assert largas == {}
