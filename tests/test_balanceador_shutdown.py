"""Service shutdown (B1, ARCHITECTURE: SIGTERM -> exit 0 within BALANCEADOR_SHUTDOWN_TIMEOUT_SEG)
while a ticket-source read is stuck, and the ``--simular`` message for a missing SQLite SAM DB."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("SQL_", "BALANCEADOR_", "CLOUDERS_", "EMAIL_", "LOG_"))}
    base.update({
        "SQL_SAM_ENGINE": "sqlite",
        "SQL_SAM_SQLITE_PATH": str(tmp_path / "sam.db"),
        "LOG_DIRECTORY": str(tmp_path / "logs"),
        "SAM_ZONA_HORARIA": "UTC",
        "BALANCEADOR_PROVEEDORES_CARGA": "clouders",
        "BALANCEADOR_SHUTDOWN_TIMEOUT_SEG": "1",
    })
    base.update(extra)
    return base


@pytest.mark.system
@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM is a hard kill on Windows")
def test_B1_sigterm_exits_0_promptly_while_a_source_read_is_stuck(tmp_path):
    """A clouders read stuck waiting for an SSH banner (a server that accepts and says nothing)
    must not keep the process alive after SIGTERM: the source-reading thread is abandoned."""
    known = tmp_path / "known_hosts"
    known.write_text("", encoding="utf-8")
    with socket.socket() as mudo:
        mudo.bind(("127.0.0.1", 0))
        mudo.listen(4)
        mudo.settimeout(60)
        env = _env(tmp_path,
                   CLOUDERS_SSH_HOST="127.0.0.1", CLOUDERS_SSH_PORT=str(mudo.getsockname()[1]),
                   CLOUDERS_SSH_USER="sam", CLOUDERS_SSH_PASS="clave-secreta",
                   CLOUDERS_SSH_KNOWN_HOSTS=str(known), CLOUDERS_SSH_TIMEOUT_SEG="120",
                   CLOUDERS_MYSQL_DB_NAME="clouders", CLOUDERS_MYSQL_USER="sam")
        proc = subprocess.Popen([sys.executable, str(ROOT / "balanceador" / "run_balanceador.py")],
                                env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
        try:
            conn, _ = mudo.accept()  # the first cycle's read is now waiting for the banner
            with conn:
                proc.send_signal(signal.SIGTERM)
                # Without the fix the process stays until the 120 s banner timeout ends the read.
                out, _ = proc.communicate(timeout=45)
            assert proc.returncode == 0, out
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate(timeout=10)
    log = (tmp_path / "logs" / "sam_balanceador_app.log").read_text(encoding="utf-8")
    assert "clave-secreta" not in log


def test_B10_simular_without_sqlite_db_says_it_does_not_exist_yet(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "balanceador" / "run_balanceador.py"), "--simular"],
        env=_env(tmp_path, BALANCEADOR_PROVEEDORES_CARGA="rpa360", SQL_RPA360_ENGINE="sqlite",
                 SQL_RPA360_SQLITE_PATH=str(tmp_path / "rpa360.db")),
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 1
    assert "todavía no existe" in proc.stderr and "primer arranque" in proc.stderr, proc.stderr
    assert str(tmp_path / "sam.db") in proc.stderr
    assert not (tmp_path / "sam.db").exists() and not (tmp_path / "rpa360.db").exists()
