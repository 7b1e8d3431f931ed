"""read_all, SourceHealth and build_sources (BEHAVIOUR §7 B1, B2, B8; §10 "failing source read as zero")."""

from __future__ import annotations

import concurrent.futures
import logging
import threading

import pytest

from balanceador.clients.base import SourceError, SourceResult, TicketSource, describe_error
from balanceador.clients.fuentes import SourceHealth, build_sources, read_all
from tests.alertas_falsas import AlertasFalsas


class FakeSource:
    def __init__(self, name, rows=None, exc=None, barrier=None, block=None, secrets=()):
        self.name = name
        self._rows = rows if rows is not None else []
        self._exc = exc
        self._barrier = barrier
        self._block = block
        self.secrets = list(secrets)
        self.reads = 0
        self.closed = False
        self.max_read_seconds = 30.0

    def read(self):
        self.reads += 1
        if self._barrier is not None:
            self._barrier.wait(timeout=30)
        if self._block is not None:
            self._block.wait(timeout=30)
        if self._exc is not None:
            raise self._exc
        return list(self._rows)

    def close(self):
        self.closed = True


@pytest.fixture()
def executor():
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as ex:
        yield ex


def test_B1_fake_source_satisfies_protocol():
    assert isinstance(FakeSource("x"), TicketSource)


def test_B1_read_all_reads_sources_concurrently(executor):
    # Each read waits at a 2-party barrier: sequential reads would break it (BrokenBarrierError).
    barrier = threading.Barrier(2)
    a = FakeSource("rpa360", rows=[("RobotA", 1, 5)], barrier=barrier)
    b = FakeSource("clouders", rows=[("bot-b", None, 7)], barrier=barrier)
    results = read_all([a, b], executor)
    assert [r.name for r in results] == ["rpa360", "clouders"]
    assert all(r.ok for r in results), results
    assert results[0].rows == (("RobotA", 1, 5),)
    assert results[1].rows == (("bot-b", None, 7),)


def test_B2_failing_source_is_not_zero_tickets(executor):
    good = FakeSource("rpa360", rows=[("RobotA", None, 3)])
    bad = FakeSource("clouders", exc=SourceError("clouders: no se pudo conectar"))
    results = read_all([good, bad], executor)
    assert results[0] == SourceResult("rpa360", True, (("RobotA", None, 3),), None)
    assert results[1].ok is False
    assert results[1].rows == ()
    assert "no se pudo conectar" in results[1].error


def test_B2_empty_source_is_ok_with_no_rows(executor):
    (result,) = read_all([FakeSource("rpa360", rows=[])], executor)
    assert result.ok is True and result.rows == () and result.error is None


def test_B2_unexpected_exception_never_escapes_and_is_secret_free(executor):
    src = FakeSource("clouders", exc=RuntimeError("login failed for pass=Sup3rS3cr3t!"), secrets=["Sup3rS3cr3t!"])
    (result,) = read_all([src], executor)
    assert result.ok is False
    assert "Sup3rS3cr3t!" not in result.error
    assert "RuntimeError" in result.error


@pytest.mark.parametrize(
    "rows",
    [
        "not a list",
        [("RobotA", None)],
        [("RobotA", None, "5")],
        [("RobotA", None, -1)],
        [(None, None, 1)],
        [("RobotA", "7", 1)],
        [("RobotA", None, True)],
    ],
)
def test_B2_malformed_rows_fail_the_source(executor, rows):
    class Weird(FakeSource):
        def read(self):
            return rows

    (result,) = read_all([Weird("rpa360")], executor)
    assert result.ok is False and result.rows == ()


def test_B1_read_all_is_bounded_in_time(executor):
    release = threading.Event()
    stuck = FakeSource("clouders", block=release)
    good = FakeSource("rpa360", rows=[("RobotA", None, 1)])
    try:
        results = read_all([good, stuck], executor, timeout=0.3)
    finally:
        release.set()
    assert results[0].ok is True
    assert results[1].ok is False and "no respondió" in results[1].error


def test_B8_every_result_carries_the_sources_mapped_names(executor):
    """Failed, timed out or good: the result names the SAM robots the source is set to feed."""
    release = threading.Event()
    fuentes = [FakeSource("a", rows=[("R", None, 1)]), FakeSource("b", exc=ConnectionError("x")),
               FakeSource("c", block=release), FakeSource("d", exc=ValueError("y"))]
    for fuente, nombres in zip(fuentes, (["R"], ("S", "T"), lambda: ["U"], None), strict=True):
        if nombres is not None:
            fuente.mapped_names = nombres
    try:
        results = read_all(fuentes, executor, timeout=0.3)
    finally:
        release.set()
    assert [r.ok for r in results] == [True, False, False, False]
    assert [r.mapped_names for r in results] == [("R",), ("S", "T"), ("U",), ()]


def test_B1_read_all_without_executor_and_without_sources():
    assert read_all([], None) == []
    (result,) = read_all([FakeSource("rpa360", rows=[("R", 2, 4)])], None)
    assert result.ok and result.rows == (("R", 2, 4),)


def test_B2_read_all_with_shut_down_executor_reports_failure():
    ex = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    ex.shutdown()
    (result,) = read_all([FakeSource("rpa360")], ex)
    assert result.ok is False and result.error


def test_describe_error_is_single_line_and_bounded():
    text = describe_error(ValueError("a\nclave-b\t" + "x" * 2000), ["clave-b"])
    assert "\n" not in text and len(text) <= 500 and "********" in text and "clave-b" not in text


# --- B8: SourceHealth ---------------------------------------------------------------------


def _ok(name):
    return SourceResult(name, True, (("R", None, 1),), None)


def _fail(name, error="clouders: conexión rechazada"):
    return SourceResult(name, False, (), error)


def test_B8_one_alert_after_three_consecutive_failures_and_one_on_recovery():
    alerts = AlertasFalsas()
    health = SourceHealth(alerts, 3, logging.getLogger("test.health"))
    health.record([_ok("rpa360"), _fail("clouders")])
    health.record([_ok("rpa360"), _fail("clouders")])
    assert alerts.orden() == []
    health.record([_ok("rpa360"), _fail("clouders")])
    assert [t for t, _ in alerts.orden()] == ["alert"]
    assert alerts.enviadas[0].clave == SourceHealth.alert_key("clouders")
    assert "clouders" in alerts.enviadas[0].asunto
    assert "conexión rechazada" in alerts.enviadas[0].cuerpo
    assert health.is_alerting("clouders") and health.consecutive_failures("clouders") == 3
    for _ in range(5):  # still down: no more e-mails
        health.record([_fail("clouders")])
    assert [t for t, _ in alerts.orden()] == ["alert"]
    health.record([_ok("clouders")])
    assert [t for t, _ in alerts.orden()] == ["alert", "recovery"]
    assert not health.is_alerting("clouders") and health.consecutive_failures("clouders") == 0
    health.record([_ok("clouders")])
    assert len(alerts.orden()) == 2


def test_B8_intermittent_failures_below_threshold_never_alert():
    alerts = AlertasFalsas()
    health = SourceHealth(alerts, 3, logging.getLogger("test.health"))
    for _ in range(4):
        health.record([_fail("rpa360")])
        health.record([_fail("rpa360")])
        health.record([_ok("rpa360")])
    assert alerts.orden() == []


def test_B8_sources_are_counted_independently():
    alerts = AlertasFalsas()
    health = SourceHealth(alerts, 2, logging.getLogger("test.health"))
    health.record([_fail("rpa360"), _ok("clouders")])
    health.record([_ok("rpa360"), _fail("clouders")])
    assert alerts.orden() == []
    health.record([_fail("rpa360"), _fail("clouders")])
    assert alerts.orden() == [("alert", SourceHealth.alert_key("clouders"))]


def test_B8_without_alert_client_and_with_broken_client_never_raises():
    SourceHealth(None, 1, None).record([_fail("rpa360"), _ok("rpa360")])

    class Broken(AlertasFalsas):
        def send_alert(self, *a, **k):
            raise RuntimeError("smtp roto")

        send_recovery = send_alert

    health = SourceHealth(Broken(), 1, logging.getLogger("test.health"))
    health.record([_fail("rpa360")])
    health.record([_ok("rpa360")])


# --- build_sources ------------------------------------------------------------------------


class Cfg:
    def __init__(self, **values):
        self.__dict__.update(values)


def test_B1_build_sources_empty_list_builds_nothing():
    assert build_sources(Cfg(BALANCEADOR_PROVEEDORES_CARGA=[])) == []


def test_B1_build_sources_rejects_unknown_name():
    with pytest.raises(ValueError, match="desconocida"):
        build_sources(Cfg(BALANCEADOR_PROVEEDORES_CARGA=["rpa360x"]))


def test_B8_alert_not_handed_over_is_retried_next_cycle_then_sent_once():
    # SMTP unreachable for the first attempt (EmailAlertClient returns False, nothing outstanding), then back
    alerts = AlertasFalsas(fallar=True)
    health = SourceHealth(alerts, 3, logging.getLogger("test.health"))
    for _ in range(3):
        health.record([_fail("clouders")])
    assert alerts.orden() == [] and len(alerts.fallidas) == 1
    alerts.fallar = False
    health.record([_fail("clouders")])
    assert [t for t, _ in alerts.orden()] == ["alert"]
    for _ in range(3):
        health.record([_fail("clouders")])
    assert len(alerts.fallidas) + len(alerts.enviadas) == 2  # two attempts in all
    health.record([_ok("clouders")])
    assert [t for t, _ in alerts.orden()] == ["alert", "recovery"]


def test_B8_no_recovery_mail_when_the_alert_never_went_out():
    alerts = AlertasFalsas(fallar=True)  # SMTP never reachable: every send_alert returns False
    health = SourceHealth(alerts, 1, logging.getLogger("test.health"))
    health.record([_fail("rpa360")])
    health.record([_ok("rpa360")])
    assert alerts.orden() == []
