"""consola.calculo_vigente: a costly result computed at most once per validity period, shared by
request threads; an expired one is served while one background thread recomputes it."""

from __future__ import annotations

import threading

from consola.calculo_vigente import CalculoVigente
from tests.esperas import esperar


class Reloj:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def contador():
    llamadas = []

    def calcular():
        llamadas.append(1)
        return len(llamadas)
    return calcular, llamadas


def test_a_fresh_result_is_reused_and_forzar_recomputes():
    reloj = Reloj()
    cache = CalculoVigente(30, reloj)
    calcular, llamadas = contador()
    assert cache.obtener(calcular) == 1
    reloj.t += 29
    assert cache.obtener(calcular) == 1 and len(llamadas) == 1
    assert cache.obtener(calcular, forzar=True) == 2


def test_an_expired_result_is_served_while_one_background_thread_recomputes_it():
    reloj = Reloj()
    cache = CalculoVigente(30, reloj)
    soltar = threading.Event()
    llamadas = []

    def calcular():
        llamadas.append(1)
        if len(llamadas) > 1:
            assert soltar.wait(30)
        return len(llamadas)

    assert cache.obtener(calcular) == 1
    reloj.t += 31
    assert [cache.obtener(calcular) for _ in range(5)] == [1] * 5  # stale, not waiting for the refresh
    soltar.set()
    esperar(lambda: cache.obtener(calcular) == 2, 30)
    assert len(llamadas) == 2  # one refresh for the five expired reads


def test_concurrent_first_requests_compute_once():
    cache = CalculoVigente(30, Reloj())
    empezado, soltar = threading.Event(), threading.Event()
    llamadas = []

    def calcular():
        llamadas.append(1)
        empezado.set()
        assert soltar.wait(30)
        return "plan"

    resultados = []
    hilos = [threading.Thread(target=lambda: resultados.append(cache.obtener(calcular))) for _ in range(4)]
    for h in hilos:
        h.start()
    assert empezado.wait(30)
    soltar.set()
    for h in hilos:
        h.join(30)
    assert resultados == ["plan"] * 4 and len(llamadas) == 1


def test_a_failed_refresh_keeps_the_previous_result_and_the_next_expired_read_retries():
    reloj = Reloj()
    cache = CalculoVigente(30, reloj)
    fallos = []

    def falla():
        fallos.append(1)
        raise RuntimeError("base caída")

    assert cache.obtener(lambda: "viejo") == "viejo"
    reloj.t += 31
    assert cache.obtener(falla) == "viejo"
    esperar(lambda: not cache._refrescando, 30)
    assert cache.obtener(lambda: "nuevo") == "viejo"  # still expired: served, and a new refresh started
    esperar(lambda: cache.obtener(lambda: "otro") == "nuevo", 30)
    assert len(fallos) == 1
