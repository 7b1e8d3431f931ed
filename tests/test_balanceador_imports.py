"""The balancer's import graph (ARCHITECTURE §8.2): the data model is the bottom layer and the SAM DB
adapters never reach up into the service. Every import counts, including those inside functions."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAQUETE = ROOT / "balanceador"


def _modulo(ruta: Path) -> str:
    partes = ruta.relative_to(ROOT).with_suffix("").parts
    return ".".join(partes[:-1] if partes[-1] == "__init__" else partes)


def _importados(ruta: Path) -> set[str]:
    """Every module ``ruta`` imports (absolute names; ``from x import y`` gives ``x`` and ``x.y``)."""
    out: set[str] = set()
    for nodo in ast.walk(ast.parse(ruta.read_text(encoding="utf-8"))):
        if isinstance(nodo, ast.Import):
            out.update(a.name for a in nodo.names)
        elif isinstance(nodo, ast.ImportFrom) and nodo.module and not nodo.level:
            out.add(nodo.module)
            out.update(f"{nodo.module}.{a.name}" for a in nodo.names)
    return out


def grafo() -> dict[str, set[str]]:
    """balanceador module -> the balanceador modules it imports."""
    modulos = {_modulo(r): r for r in sorted(PAQUETE.rglob("*.py"))}
    return {m: {d for d in _importados(r) if d in modulos and d != m} for m, r in modulos.items()}


def test_modelo_imports_only_stdlib_and_common():
    terceros = {d.split(".")[0] for d in _importados(PAQUETE / "modelo.py")} - {"__future__"}
    import sys

    assert all(d in sys.stdlib_module_names or d == "common" for d in terceros), terceros


def test_database_adapters_never_import_the_service():
    for modulo, deps in grafo().items():
        if modulo.startswith("balanceador.database"):
            assert not {d for d in deps if d.startswith("balanceador.service")}, (modulo, deps)


def test_ticket_sources_import_only_the_interface_module():
    g = grafo()
    for fuente in ("balanceador.clients.rpa360_client", "balanceador.clients.clouders_client"):
        assert {d for d in g[fuente] if d.startswith("balanceador.")} <= {"balanceador.clients.base",
                                                                          "balanceador.modelo"}, g[fuente]
    assert {d for d in g["balanceador.clients.base"] if d.startswith("balanceador.")} == set()


def test_no_import_cycles_inside_balanceador():
    g = grafo()
    hecho: set[str] = set()

    def visitar(modulo: str, camino: list[str]) -> None:
        for dep in sorted(g[modulo]):
            assert dep not in camino, f"ciclo de imports: {' -> '.join([*camino[camino.index(dep):], dep])}"
            if dep not in hecho:
                visitar(dep, [*camino, dep])
        hecho.add(modulo)

    for modulo in sorted(g):
        visitar(modulo, [modulo])
