"""The NSSM install/uninstall scripts declare the three services with the agreed settings."""

from __future__ import annotations

import re

import pytest

from common.paths import PROJECT_ROOT

INSTALL = (PROJECT_ROOT / "scripts" / "install_services.ps1").read_text(encoding="utf-8")
UNINSTALL = (PROJECT_ROOT / "scripts" / "uninstall_services.ps1").read_text(encoding="utf-8")
SERVICES = {
    "SAM-Lanzador": r"lanzador\run_lanzador.py",
    "SAM-Callback": r"callback\run_callback.py",
    "SAM-Balanceador": r"balanceador\run_balanceador.py",
}


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_each_service_is_installed_with_its_entry_point_and_removed(name):
    assert f'Name = "{name}"' in INSTALL
    assert f'Script = "{SERVICES[name]}"' in INSTALL
    assert f'"{name}"' in UNINSTALL


def test_entry_points_exist_in_the_project():
    for script in SERVICES.values():
        assert (PROJECT_ROOT / script.replace("\\", "/")).is_file()


def test_parameters_for_python_and_project_root():
    params = INSTALL.split("param(", 1)[1].split(")\n", 1)[0]
    assert "$PythonExe" in params and "$ProjectRoot" in params and "$NssmExe" in params


@pytest.mark.parametrize(
    "setting",
    [
        '"AppDirectory", $ProjectRoot',
        '"AppStdout"',
        '"AppStderr"',
        '"AppRotateFiles", "1"',
        '"AppRotateOnline", "1"',
        '"AppExit", "Default", "Restart"',
        '"AppThrottle"',
        '"AppRestartDelay"',
        '"Description"',
        '"Start", "SERVICE_DELAYED_AUTO_START"',
        '"AppStopMethodConsole"',
    ],
)
def test_install_sets(setting):
    assert setting in INSTALL


def test_console_stop_timeout_is_longer_than_the_services_shutdown_timeout():
    from common.utils.config_manager import load_config

    cfg = load_config(
        "demo", environ={"SQL_SAM_ENGINE": "sqlite", "SQL_RPA360_ENGINE": "sqlite"}, root=PROJECT_ROOT / "tests"
    )
    longest_s = max(cfg.LANZADOR_SHUTDOWN_TIMEOUT_SEG, cfg.BALANCEADOR_SHUTDOWN_TIMEOUT_SEG)
    stop_ms = int(re.search(r"\[int\] \$StopTimeoutMs = (\d+)", INSTALL).group(1))
    assert stop_ms > longest_s * 1000 + 5000
    assert '"AppStopMethodConsole", "$StopTimeoutMs"' in INSTALL


def test_idempotent_and_clear_errors():
    for text in (INSTALL, UNINSTALL):
        assert "Get-Service -Name $name -ErrorAction SilentlyContinue" in text
        assert "No se encuentra NSSM" in text
    assert "No se encuentra el ejecutable de Python" in INSTALL
    assert '"set", $name, "Application", $PythonExe' in INSTALL  # existing service is reconfigured
