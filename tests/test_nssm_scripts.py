"""The NSSM install/uninstall scripts (issue 11, item 6).

There is no PowerShell here, so the scripts are checked as text, plus the list of NSSM commands
the installer runs: install_services.ps1 keeps that list as data ($Servicios, $Ajustes,
$EntornoPropio); the test reads the data, rebuilds the commands with ``nssm_commands`` (a model
of the script's loop, whose PowerShell statements ``test_the_loop_is_the_one_the_model_follows``
pins down) and checks the result: start order, per-service settings, AppExit, rotation, the
merged AppEnvironmentExtra, the service account with the password masked, as ``-SoloMostrar``
prints them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from common.paths import PROJECT_ROOT

INSTALL_PATH = PROJECT_ROOT / "scripts" / "install_services.ps1"
UNINSTALL_PATH = PROJECT_ROOT / "scripts" / "uninstall_services.ps1"
INSTALL = INSTALL_PATH.read_text(encoding="utf-8-sig")
UNINSTALL = UNINSTALL_PATH.read_text(encoding="utf-8-sig")
START_ORDER = ["SAM-Callback", "SAM-Lanzador", "SAM-Balanceador", "SAM-Consola"]
ENTRY_POINTS = {
    "SAM-Callback": r"callback\run_callback.py",
    "SAM-Lanzador": r"lanzador\run_lanzador.py",
    "SAM-Balanceador": r"balanceador\run_balanceador.py",
    "SAM-Consola": r"consola\run_consola.py",
}
MASK = "********"

# ----------------------------------------------------------------------------- reading the data

_PS_STRING = re.compile(r'"((?:[^"`]|`.)*)"|\'((?:[^\']|\'\')*)\'')


def _ps_strings(text: str) -> list[str]:
    """PowerShell string literals in ``text``, unquoted ('' -> ', `x -> x; no $ expansion)."""
    out = []
    for m in _PS_STRING.finditer(text):
        if m.group(1) is not None:
            assert "$" not in m.group(1), f"the data must not expand variables: {m.group(0)}"
            out.append(re.sub(r"`(.)", r"\1", m.group(1)))
        else:
            out.append(m.group(2).replace("''", "'"))
    return out


def _block(text: str, start: str) -> str:
    """From ``start`` up to the first line that is just ``)`` or ``}``, without comment lines."""
    i = text.index(start)
    end = re.compile(r"^[)}]\s*$", re.M).search(text, i).start()
    return "\n".join(line for line in text[i + len(start):end].splitlines() if not line.lstrip().startswith("#"))


@dataclass(frozen=True)
class Servicio:
    name: str
    script: str
    optional: bool
    description: str


def servicios() -> list[Servicio]:
    body = _block(INSTALL, "$Servicios = @(")
    entries = re.findall(r"@\{(.*?)\}", body, re.S)
    result = []
    for entry in entries:
        fields = dict(re.findall(r"(\w+)\s*=\s*(\"[^\"]*\"|'[^']*'|\$true|\$false)", entry))
        assert set(fields) == {"Name", "Script", "Opcional", "Description"}, entry
        result.append(Servicio(_ps_strings(fields["Name"])[0], _ps_strings(fields["Script"])[0],
                               fields["Opcional"] == "$true", _ps_strings(fields["Description"])[0]))
    return result


def ajustes() -> list[list[str]]:
    body = _block(INSTALL, "$Ajustes = @(")
    rows = re.findall(r"@\((.*?)\)\s*(,?)\s*$", body, re.M)
    assert rows and all(comma == "," for _, comma in rows[:-1]) and rows[-1][1] == "", \
        "every $Ajustes row but the last must end with a comma (one array of arrays)"
    return [_ps_strings(args) for args, _ in rows]


def entorno_propio() -> dict[str, str]:
    body = _block(INSTALL, "$EntornoPropio = [ordered]@{")
    return {k: _ps_strings(v)[0] for k, v in re.findall(r"^\s*(\w+)\s*=\s*(\"[^\"]*\")\s*$", body, re.M)}


def cuentas_sin_contrasena() -> list[str]:
    line = re.search(r"^\$CuentasSinContrasena = @\((.*)\)$", INSTALL, re.M).group(1)
    return _ps_strings(line)


# ----------------------------------------------------------------------------- the model


def merge_entorno(actual: list[str], propio: dict[str, str]) -> list[str]:
    """Merge-Entorno: foreign entries kept in place, own keys set once (case-insensitive), new ones appended."""
    out, done = [], set()
    for entry in actual:
        key = entry.split("=", 1)[0].strip()
        own = next((k for k in propio if k.lower() == key.lower()), None)
        if own is None:
            out.append(entry)
        elif own not in done:
            out.append(f"{own}={propio[own]}")
            done.add(own)
    out += [f"{k}={v}" for k, v in propio.items() if k not in done]
    return out


def format_orden(args: list[str], secret: str = "") -> str:
    """Format-Orden: the line -SoloMostrar prints."""
    parts = []
    for a in args:
        if secret and a == secret:
            parts.append(MASK)
        elif a == "" or (re.search(r"\s", a) and not re.fullmatch(r'".*"', a, re.S)):
            parts.append(f'"{a}"')
        else:
            parts.append(a)
    return "nssm " + " ".join(parts)


def nssm_commands(*, present: set[str] | None = None, existing: dict[str, list[str]] | None = None,
                  start: bool = False, account: str = "LocalSystem", root: str = r"C:\SAM",
                  python: str = r"C:\SAM\.venv\Scripts\python.exe", log_dir: str = "",
                  stop_timeout_ms: int = 45000, rotar_bytes: int = 10485760) -> list[str]:
    """The commands install_services.ps1 runs (prints with -SoloMostrar), rebuilt from its data.

    ``present``: entry points that exist (default: those of this checkout); ``existing``: services
    already installed, with their current AppEnvironmentExtra entries.
    """
    if present is None:
        present = {s.script for s in servicios() if (PROJECT_ROOT / s.script.replace("\\", "/")).is_file()}
    existing = existing or {}
    log_dir = log_dir or root + r"\logs"
    instalar = []
    for s in servicios():
        if s.script in present:
            instalar.append(s)
        elif not s.optional:
            raise FileNotFoundError(s.script)
    no_password = {a.lower() for a in cuentas_sin_contrasena()}   # PowerShell -contains ignores case
    secret = "" if account.lower() in no_password or account.endswith("$") else MASK
    lines = [format_orden(["stop", s.name]) for s in reversed(instalar) if s.name in existing]
    for s in instalar:
        cmds = [["set", s.name, "Application", python] if s.name in existing else ["install", s.name, python]]
        values = {"Servicio": s.name, "Script": root + "\\" + s.script, "Descripcion": s.description,
                  "Raiz": root, "Logs": log_dir, "StopTimeoutMs": str(stop_timeout_ms), "RotarBytes": str(rotar_bytes)}
        for row in ajustes():
            expanded = []
            for arg in row:
                for key, value in values.items():
                    arg = arg.replace("{" + key + "}", value)
                expanded.append(arg)
            cmds.append(["set", s.name, *expanded])
        cmds.append(["set", s.name, "AppEnvironmentExtra", *merge_entorno(existing.get(s.name, []), entorno_propio())])
        cmds.append(["set", s.name, "ObjectName", account] + ([secret] if secret else []))
        lines += [format_orden(c, secret) for c in cmds]
    if start:
        lines += [format_orden(["start", s.name]) for s in instalar]
    return lines


def _settings(lines: list[str], service: str) -> list[str]:
    return [line.split()[3] for line in lines if line.startswith(f"nssm set {service} ")]


# ----------------------------------------------------------------------------- the data


def test_services_are_listed_in_start_order_with_their_entry_points():
    found = servicios()
    assert [s.name for s in found] == START_ORDER
    assert {s.name: s.script for s in found} == ENTRY_POINTS
    assert [s.name for s in found if s.optional] == ["SAM-Consola"]
    for s in found:
        if not s.optional:
            assert (PROJECT_ROOT / s.script.replace("\\", "/")).is_file(), s.script
        assert s.description.startswith("SAM: ")


def test_the_generated_command_list_for_a_fresh_install():
    lines = nssm_commands(start=True)
    services = [s for s in START_ORDER if (PROJECT_ROOT / ENTRY_POINTS[s].replace("\\", "/")).is_file()]
    installs = [line.split()[2] for line in lines if line.startswith("nssm install ")]
    starts = [line.split()[2] for line in lines if line.startswith("nssm start ")]
    assert installs == starts == services
    assert not any(line.startswith("nssm stop ") for line in lines)
    assert lines[-len(services):] == [f"nssm start {s}" for s in services]   # started after all are configured
    # every service is configured completely before the next one, in start order
    owners = [line.split()[2] for line in lines if not line.startswith("nssm start ")]
    assert owners == sorted(owners, key=services.index)
    assert nssm_commands(start=False) == lines[:-len(services)]
    callback = [line for line in lines if line.split()[2] == "SAM-Callback" and not line.startswith("nssm start")]
    assert callback == [
        r"nssm install SAM-Callback C:\SAM\.venv\Scripts\python.exe",
        r'nssm set SAM-Callback AppParameters "C:\SAM\callback\run_callback.py"',
        r"nssm set SAM-Callback AppDirectory C:\SAM",
        "nssm set SAM-Callback DisplayName SAM-Callback",
        'nssm set SAM-Callback Description "SAM: servidor de callbacks de A360 (waitress)."',
        "nssm set SAM-Callback Start SERVICE_DELAYED_AUTO_START",
        r"nssm set SAM-Callback AppStdout C:\SAM\logs\SAM-Callback.stdout.log",
        r"nssm set SAM-Callback AppStderr C:\SAM\logs\SAM-Callback.stderr.log",
        "nssm set SAM-Callback AppRotateFiles 1",
        "nssm set SAM-Callback AppRotateOnline 1",
        "nssm set SAM-Callback AppRotateBytes 10485760",
        "nssm set SAM-Callback AppExit Default Restart",
        "nssm set SAM-Callback AppExit 2 Exit",
        "nssm set SAM-Callback AppRestartDelay 10000",
        "nssm set SAM-Callback AppThrottle 30000",
        "nssm set SAM-Callback AppStopMethodSkip 0",
        "nssm set SAM-Callback AppStopMethodConsole 45000",
        "nssm set SAM-Callback AppStopMethodWindow 5000",
        "nssm set SAM-Callback AppStopMethodThreads 5000",
        "nssm set SAM-Callback AppKillProcessTree 1",
        "nssm set SAM-Callback AppEnvironmentExtra PYTHONUNBUFFERED=1 PYTHONIOENCODING=utf-8",
        "nssm set SAM-Callback ObjectName LocalSystem",
    ]
    for service in services:   # the same settings for every service
        assert _settings(lines, service) == _settings(lines, "SAM-Callback")


def test_the_console_is_installed_last_when_its_entry_point_exists_and_skipped_otherwise():
    base = {r"callback\run_callback.py", r"lanzador\run_lanzador.py", r"balanceador\run_balanceador.py"}
    with_console = nssm_commands(present=base | {r"consola\run_consola.py"}, start=True)
    assert [line.split()[2] for line in with_console if line.startswith("nssm start ")] == START_ORDER
    assert r'nssm set SAM-Consola AppParameters "C:\SAM\consola\run_consola.py"' in with_console
    without = nssm_commands(present=base, start=True)
    assert not any("SAM-Consola" in line for line in without)
    with pytest.raises(FileNotFoundError):   # a core service is never skipped silently
        nssm_commands(present=base - {r"lanzador\run_lanzador.py"})
    assert re.search(r'elseif \(\$svc\.Opcional\) \{ Write-Host "# Se omite \$\(\$svc\.Name\): no existe', INSTALL)
    assert re.search(r'else \{ Stop-ConError "Falta \$\(\$svc\.Script\)', INSTALL)


def test_a_rerun_stops_in_reverse_order_reconfigures_and_merges_the_environment():
    existing = {
        "SAM-Callback": ["HTTPS_PROXY=http://proxy:3128", "PYTHONIOENCODING=latin-1"],
        "SAM-Lanzador": [],
        "SAM-Balanceador": ["pythonunbuffered=0", "TZ=Europe/Madrid"],
        "SAM-Consola": [],
    }
    lines = nssm_commands(existing=existing, start=True)
    stops = [line for line in lines if line.startswith("nssm stop ")]
    assert stops == ["nssm stop SAM-Consola", "nssm stop SAM-Balanceador", "nssm stop SAM-Lanzador",
                     "nssm stop SAM-Callback"]
    assert lines[:4] == stops   # everything is stopped before anything is changed
    assert not any(line.startswith("nssm install ") for line in lines)
    assert r"nssm set SAM-Lanzador Application C:\SAM\.venv\Scripts\python.exe" in lines
    env = {line.split()[2]: line.split()[4:] for line in lines if " AppEnvironmentExtra " in line}
    assert env == {
        "SAM-Callback": ["HTTPS_PROXY=http://proxy:3128", "PYTHONIOENCODING=utf-8", "PYTHONUNBUFFERED=1"],
        "SAM-Lanzador": ["PYTHONUNBUFFERED=1", "PYTHONIOENCODING=utf-8"],
        "SAM-Balanceador": ["PYTHONUNBUFFERED=1", "TZ=Europe/Madrid", "PYTHONIOENCODING=utf-8"],
        "SAM-Consola": ["PYTHONUNBUFFERED=1", "PYTHONIOENCODING=utf-8"],
    }
    # a second re-run over the merged values changes nothing (idempotent)
    again = nssm_commands(existing=env, start=True)
    assert again == lines


def test_the_environment_the_script_owns_is_what_it_set_before():
    assert entorno_propio() == {"PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8"}
    assert merge_entorno(["A=1", "B=x=y"], entorno_propio()) == ["A=1", "B=x=y", "PYTHONUNBUFFERED=1",
                                                                 "PYTHONIOENCODING=utf-8"]


def test_service_account_password_is_masked_in_the_command_list():
    lines = nssm_commands(account=r"DOMINIO\svc_sam")
    accounts = [line for line in lines if " ObjectName " in line]
    assert accounts == [rf"nssm set {s} ObjectName DOMINIO\svc_sam {MASK}" for s in START_ORDER]
    for account, shown in (("LocalSystem", "LocalSystem"), ("localsystem", "localsystem"),
                           (r"NT AUTHORITY\NetworkService", r'"NT AUTHORITY\NetworkService"'),
                           (r"NT AUTHORITY\LocalService", r'"NT AUTHORITY\LocalService"'),
                           (r"DOMINIO\gmsa_sam$", r"DOMINIO\gmsa_sam$")):
        accounts = [line for line in nssm_commands(account=account) if " ObjectName " in line]
        assert accounts == [f"nssm set {s} ObjectName {shown}" for s in START_ORDER], account


def test_parameters_reach_the_commands():
    lines = nssm_commands(root=r"D:\Apps\SAM", log_dir=r"E:\logs", stop_timeout_ms=90000, rotar_bytes=5242880)
    assert r"nssm set SAM-Lanzador AppStdout E:\logs\SAM-Lanzador.stdout.log" in lines
    assert r"nssm set SAM-Lanzador AppDirectory D:\Apps\SAM" in lines
    assert "nssm set SAM-Balanceador AppStopMethodConsole 90000" in lines
    assert "nssm set SAM-Callback AppRotateBytes 5242880" in lines


# ----------------------------------------------------------------------------- the script text


def _statements_after_param(text: str) -> str:
    params = text.index("param(")
    rest = text[text.index("\n)", params) + 2:].lstrip()
    while rest.startswith("#"):   # comment lines
        rest = rest.split("\n", 1)[1].lstrip()
    return rest


def _param_names(text: str) -> list[str]:
    block = text[text.index("param("): text.index("\n)", text.index("param("))]
    return re.findall(r"\$(\w+)\s*(?:=|,|$)", block, re.M)


def test_the_loop_is_the_one_the_model_follows():
    """The statements nssm_commands() models, in this order in the script."""
    pieces = [
        "$instalar = @()\nforeach ($svc in $Servicios) {",
        "$necesitaContrasena = -not (($CuentasSinContrasena -contains $ServiceAccount) -or $ServiceAccount.EndsWith('$'))",
        "for ($i = $instalar.Count - 1; $i -ge 0; $i--) {",
        'Invoke-Nssm @("stop", $name) -PermitirFallo',
        "foreach ($svc in $instalar) {",
        'Invoke-Nssm @("set", $name, "Application", $PythonExe)',
        "$entornoActual = Get-EntornoActual $name",
        'Invoke-Nssm @("install", $name, $PythonExe)',
        "Servicio = $name; Script = (Join-Path $ProjectRoot $svc.Script); Descripcion = $svc.Description",
        "Raiz = $ProjectRoot; Logs = $LogDir; StopTimeoutMs = $StopTimeoutMs; RotarBytes = $RotarBytes",
        "foreach ($ajuste in $Ajustes) {",
        '$argumentos = @("set", $name) + @($ajuste | ForEach-Object { Expand-Marcadores $_ $valores })',
        'Invoke-Nssm (@("set", $name, "AppEnvironmentExtra") + (Merge-Entorno $entornoActual $EntornoPropio))',
        'Invoke-Nssm @("set", $name, "ObjectName", $ServiceAccount, $contrasena) -Secreto $contrasena',
        'else { Invoke-Nssm @("set", $name, "ObjectName", $ServiceAccount) }',
        'foreach ($svc in $instalar) { Invoke-Nssm @("start", $svc.Name) }',
    ]
    at = 0
    for piece in pieces:
        found = INSTALL.find(piece, at)
        assert found >= 0, f"not found (in this order): {piece}"
        at = found + len(piece)
    # nssm is only run through Invoke-Nssm (which -SoloMostrar turns into a printed line), except the read
    direct = re.findall(r"& \$script:nssm ([^\n]*)", INSTALL)
    assert direct == ["@NssmArgs 2>&1", "get $Servicio AppEnvironmentExtra 2>&1"]
    assert "if ($SoloMostrar) { Write-Output (Format-Orden $NssmArgs $Secreto); return }" in INSTALL
    assert "if ($Secreto -and $a -eq $Secreto) { $Oculto }" in INSTALL
    assert '$Oculto = "********"' in INSTALL and MASK == "********"


def test_appexit_two_stops_the_service_and_other_exits_restart_with_throttle():
    rows = ajustes()
    assert ["AppExit", "2", "Exit"] in rows
    assert ["AppExit", "Default", "Restart"] in rows
    assert ["AppThrottle", "30000"] in rows and ["AppRestartDelay", "10000"] in rows


def test_nssm_output_rotation():
    rows = ajustes()
    for row in (["AppRotateFiles", "1"], ["AppRotateOnline", "1"], ["AppRotateBytes", "{RotarBytes}"],
                ["AppStdout", r"{Logs}\{Servicio}.stdout.log"], ["AppStderr", r"{Logs}\{Servicio}.stderr.log"]):
        assert row in rows
    assert "[ValidateRange(1048576, 2147483647)] [int] $RotarBytes = 10485760" in INSTALL


def _limpieza_regexes() -> tuple[re.Pattern, re.Pattern]:
    block = INSTALL[INSTALL.index("$Limpieza = {"):]
    match = re.search(r"\$_\.Name -match '([^']+)'", block).group(1)
    group = re.search(r"Group-Object \{ \$_\.Name -replace '([^']+)', '' \}", block).group(1)
    return re.compile(match, re.I), re.compile(group, re.I)   # PowerShell -match/-replace ignore case


def _cleanup(names_newest_first: list[str], keep: int) -> set[str]:
    """What $Limpieza removes, given file names sorted by LastWriteTime (newest first)."""
    match, group = _limpieza_regexes()
    groups: dict[str, list[str]] = {}
    for name in names_newest_first:
        if match.search(name):
            groups.setdefault(group.sub("", name), []).append(name)
    return {name for files in groups.values() for name in files[keep:]}


def test_cleanup_keeps_the_newest_rotated_files_per_service_and_stream():
    stamps = [f"202601{d:02d}T0300{d:02d}.{d:03d}" for d in range(20, 0, -1)]   # newest first
    names = ([f"SAM-Lanzador.stdout-{s}.log" for s in stamps] + [f"SAM-Lanzador.stderr-{s}.log" for s in stamps[:3]]
             + [f"SAM-Callback.stdout-{s}.log" for s in stamps[:12]])
    others = ["SAM-Lanzador.stdout.log", "SAM-Lanzador.stderr.log", "sam_lanzador_app.log.2026-01-15",
              "sam_lanzador_app.log", "otro-20260101T000000.000.log", "SAM-Lanzador.stdout-copia.log"]
    removed = _cleanup(names + others, keep=10)
    assert removed == ({f"SAM-Lanzador.stdout-{s}.log" for s in stamps[10:]}
                       | {f"SAM-Callback.stdout-{s}.log" for s in stamps[10:12]})
    assert not removed & set(others)
    block = INSTALL[INSTALL.index("$Limpieza = {"): INSTALL.index("\n}\n", INSTALL.index("$Limpieza = {"))]
    assert "Sort-Object LastWriteTime -Descending | Select-Object -Skip $Conservar" in block
    assert "param([string] $Carpeta, [int] $Conservar)" in block


def test_cleanup_runs_at_install_time_and_as_a_daily_scheduled_task():
    assert "[ValidateRange(1, 10000)] [int] $ConservarLogs = 10" in INSTALL
    assert "& $Limpieza $LogDir $ConservarLogs" in INSTALL
    task = INSTALL[INSTALL.index("if ($TareaLimpieza) {"):]
    assert "$orden = \"& {$Limpieza} '$($LogDir.Replace(\"'\", \"''\"))' $ConservarLogs\"" in task
    assert "[Text.Encoding]::Unicode.GetBytes($orden)" in task   # -EncodedCommand is UTF-16LE base64
    assert '-EncodedCommand $codificada' in task
    assert 'New-ScheduledTaskTrigger -Daily -At "03:30"' in task
    assert 'New-ScheduledTaskPrincipal -UserId "SYSTEM" -LogonType ServiceAccount' in task
    assert "Register-ScheduledTask -TaskName $NombreTarea" in task and "-Force" in task
    assert '$NombreTarea = "SAM-LimpiezaLogsNSSM"' in INSTALL and '$NombreTarea = "SAM-LimpiezaLogsNSSM"' in UNINSTALL
    assert "Unregister-ScheduledTask -TaskName $NombreTarea -Confirm:$false" in UNINSTALL


def test_service_account_is_prompted_never_a_parameter_and_never_echoed():
    params = _param_names(INSTALL)
    assert "ServiceAccount" in params
    assert '[string] $ServiceAccount = "LocalSystem"' in INSTALL
    assert not [p for p in params if re.search(r"pass|contra|clave|secret|cred", p, re.I)]
    assert "[securestring]" not in INSTALL.lower() and "[pscredential]" not in INSTALL.lower()
    assert '$segura = Read-Host -AsSecureString "Contraseña de $ServiceAccount (no se muestra)"' in INSTALL
    assert "(New-Object System.Net.NetworkCredential(\"\", $segura)).Password" in INSTALL
    # the password is only ever handed to Invoke-Nssm as the secret to mask, then forgotten
    uses = [line.strip() for line in INSTALL.splitlines() if "$contrasena" in line]
    assert all("Write-" not in line for line in uses), uses
    assert uses[-1] == '$contrasena = ""'
    # it is asked for before anything changes
    assert INSTALL.index("Read-Host -AsSecureString") < INSTALL.index('Invoke-Nssm @("stop"')


@pytest.mark.parametrize("text", [INSTALL, UNINSTALL], ids=["install", "uninstall"])
def test_administrator_check_comes_first(text):
    first = _statements_after_param(text)
    assert first.startswith(
        "$principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())\n"
        "if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {")
    check = first[: first.index("\n}\n")]
    assert "este script necesita permisos de Administrador" in check and "exit 1" in check
    for action in ("Invoke-Nssm", "& $nssm", "New-Item", "comprobar", "Get-Service", "Register-ScheduledTask"):
        if action in first:
            assert first.index(action) > len(check), action


def test_only_the_dry_run_is_allowed_without_administrator_rights():
    check = _statements_after_param(INSTALL)
    check = check[: check.index("\n}\n")]
    assert "if (-not $SoloMostrar) {" in check and check.index("if (-not $SoloMostrar) {") < check.index("exit 1")
    assert "SoloMostrar" not in UNINSTALL


def test_configuration_check_runs_before_installing_and_exit_code_2_stops():
    assert "& $PythonExe -m comprobar 2>&1" in INSTALL
    assert "Push-Location -LiteralPath $ProjectRoot" in INSTALL
    block = INSTALL[INSTALL.index("if ($SinComprobar) {"): INSTALL.index("# Servicios que se instalan")]
    assert "if ($codigo -eq 2) {" in block
    assert re.search(r"Stop-ConError \"La configuración tiene errores[^\n]*\" 2\n", block)
    assert block.index("if ($texto) { Write-Host $texto }") < block.index("if ($codigo -eq 2) {")   # its output is shown
    assert '@("comprobar\\__init__.py", "comprobar\\__main__.py")' in INSTALL   # skipped if it does not exist yet
    assert INSTALL.index("& $PythonExe -m comprobar") < INSTALL.index('Invoke-Nssm @("stop"')
    # PowerShell 5.1 turns a native command's stderr into exceptions under "Stop"
    assert block.index('$ErrorActionPreference = "Continue"') < block.index("& $PythonExe -m comprobar")
    assert "SinComprobar" in _param_names(INSTALL)


def test_every_parameter_is_documented_in_the_help():
    for text in (INSTALL, UNINSTALL):
        params = _param_names(text)
        helped = re.findall(r"^\.PARAMETER (\w+)$", text[: text.index("#>")], re.M)
        assert params and sorted(params) == sorted(helped)
    assert set(_param_names(INSTALL)) >= {"PythonExe", "ProjectRoot", "NssmExe", "LogDir", "StopTimeoutMs", "RotarBytes",
                                           "ConservarLogs", "TareaLimpieza", "ServiceAccount", "SinComprobar",
                                           "SoloMostrar", "Start"}


def test_uninstall_stops_then_removes_in_reverse_start_order():
    names = _ps_strings(re.search(r"^\$Servicios = @\((.*)\)$", UNINSTALL, re.M).group(1))
    assert names == list(reversed([s.name for s in servicios()]))
    assert UNINSTALL.index("& $nssm stop $name") < UNINSTALL.index("& $nssm remove $name confirm")
    assert "foreach ($name in $instalados) {" in UNINSTALL


def test_idempotent_and_clear_spanish_errors():
    assert "Get-Service -Name $svc.Name -ErrorAction SilentlyContinue" in INSTALL
    assert "Get-Service -Name $name -ErrorAction SilentlyContinue" in UNINSTALL
    for text in (INSTALL, UNINSTALL):
        assert "No se encuentra NSSM" in text
        assert "function Stop-ConError" in text and "throw " not in text
    assert "No se encuentra el ejecutable de Python" in INSTALL
    assert "no parece la raíz de SAM" in INSTALL


@pytest.mark.parametrize("path", [INSTALL_PATH, UNINSTALL_PATH], ids=["install", "uninstall"])
def test_scripts_have_a_utf8_bom_for_windows_powershell(path):
    """PowerShell 5.1 reads a .ps1 without BOM as ANSI: the accents in the messages would break."""
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")


def test_console_stop_timeout_is_longer_than_the_services_shutdown_timeout():
    from common.utils.config_manager import load_config

    cfg = load_config(
        "demo", environ={"SQL_SAM_ENGINE": "sqlite", "SQL_RPA360_ENGINE": "sqlite"}, root=PROJECT_ROOT / "tests"
    )
    longest_s = max(cfg.LANZADOR_SHUTDOWN_TIMEOUT_SEG, cfg.BALANCEADOR_SHUTDOWN_TIMEOUT_SEG)
    stop_ms = int(re.search(r"\[int\] \$StopTimeoutMs = (\d+)", INSTALL).group(1))
    assert stop_ms > longest_s * 1000 + 5000
    assert ["AppStopMethodConsole", "{StopTimeoutMs}"] in ajustes()
