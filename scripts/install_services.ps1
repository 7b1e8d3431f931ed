<#
.SYNOPSIS
  Instala (o actualiza) los tres servicios de SAM con NSSM: SAM-Lanzador, SAM-Callback y SAM-Balanceador.

.DESCRIPTION
  Idempotente: si un servicio ya existe se detiene y se vuelve a configurar con los mismos valores.
  Ejecutar en una consola de PowerShell como Administrador.

.EXAMPLE
  .\scripts\install_services.ps1 -PythonExe C:\SAM\.venv\Scripts\python.exe -ProjectRoot C:\SAM
#>
param(
    [Parameter(Mandatory = $true)] [string] $PythonExe,
    [string] $ProjectRoot = (Split-Path -Parent $PSScriptRoot),
    [string] $NssmExe = "nssm.exe",
    [string] $LogDir = "",
    # Milisegundos que NSSM espera tras Ctrl+C. Debe superar LANZADOR_SHUTDOWN_TIMEOUT_SEG y
    # BALANCEADOR_SHUTDOWN_TIMEOUT_SEG (30 s por defecto) para que el cierre sea ordenado.
    [int] $StopTimeoutMs = 45000,
    [switch] $Start
)
$ErrorActionPreference = "Stop"

$nssm = Get-Command $NssmExe -ErrorAction SilentlyContinue
if (-not $nssm) { throw "No se encuentra NSSM ('$NssmExe'). Instálelo y agréguelo al PATH o indique -NssmExe C:\ruta\nssm.exe." }
$nssm = $nssm.Source
if (-not (Test-Path -LiteralPath $PythonExe -PathType Leaf)) { throw "No se encuentra el ejecutable de Python: '$PythonExe'. Indique -PythonExe con la ruta completa al python.exe del entorno virtual." }
$PythonExe = (Resolve-Path -LiteralPath $PythonExe).Path
if (-not (Test-Path -LiteralPath (Join-Path $ProjectRoot "lanzador\run_lanzador.py"))) { throw "'$ProjectRoot' no parece la raíz de SAM (falta lanzador\run_lanzador.py). Indique -ProjectRoot." }
$ProjectRoot = (Resolve-Path -LiteralPath $ProjectRoot).Path
if (-not $LogDir) { $LogDir = Join-Path $ProjectRoot "logs" }
New-Item -ItemType Directory -Force -Path $LogDir | Out-Null

$services = @(
    @{ Name = "SAM-Lanzador";    Script = "lanzador\run_lanzador.py";
       Description = "SAM: sincroniza A360, lanza robots y concilia ejecuciones." },
    @{ Name = "SAM-Callback";    Script = "callback\run_callback.py";
       Description = "SAM: servidor de callbacks de A360 (waitress)." },
    @{ Name = "SAM-Balanceador"; Script = "balanceador\run_balanceador.py";
       Description = "SAM: asigna y libera equipos según los tickets pendientes." }
)

function Invoke-Nssm([string[]] $NssmArgs) {
    & $nssm @NssmArgs | Out-Null
    if ($LASTEXITCODE -ne 0) { throw "NSSM falló: nssm $($NssmArgs -join ' ') (código $LASTEXITCODE)" }
}

foreach ($svc in $services) {
    $name = $svc.Name
    $script = Join-Path $ProjectRoot $svc.Script
    if (Get-Service -Name $name -ErrorAction SilentlyContinue) {
        Write-Host "El servicio $name ya existe: se detiene y se actualiza su configuración."
        & $nssm stop $name | Out-Null
        Invoke-Nssm @("set", $name, "Application", $PythonExe)
    } else {
        Write-Host "Instalando el servicio $name."
        Invoke-Nssm @("install", $name, $PythonExe)
    }
    Invoke-Nssm @("set", $name, "AppParameters", "`"$script`"")
    Invoke-Nssm @("set", $name, "AppDirectory", $ProjectRoot)
    Invoke-Nssm @("set", $name, "DisplayName", $name)
    Invoke-Nssm @("set", $name, "Description", $svc.Description)
    Invoke-Nssm @("set", $name, "Start", "SERVICE_DELAYED_AUTO_START")
    Invoke-Nssm @("set", $name, "AppEnvironmentExtra", "PYTHONUNBUFFERED=1", "PYTHONIOENCODING=utf-8")
    # stdout/stderr capturados con rotación (los logs propios de SAM rotan a medianoche aparte).
    Invoke-Nssm @("set", $name, "AppStdout", (Join-Path $LogDir "$name.stdout.log"))
    Invoke-Nssm @("set", $name, "AppStderr", (Join-Path $LogDir "$name.stderr.log"))
    Invoke-Nssm @("set", $name, "AppRotateFiles", "1")
    Invoke-Nssm @("set", $name, "AppRotateOnline", "1")
    Invoke-Nssm @("set", $name, "AppRotateBytes", "10485760")
    # Reinicio ante fallo, con un mínimo de 30 s de vida antes de considerarlo estable.
    Invoke-Nssm @("set", $name, "AppExit", "Default", "Restart")
    Invoke-Nssm @("set", $name, "AppRestartDelay", "10000")
    Invoke-Nssm @("set", $name, "AppThrottle", "30000")
    # Detención ordenada: primero Ctrl+C (el servicio termina lo que está en curso).
    Invoke-Nssm @("set", $name, "AppStopMethodSkip", "0")
    Invoke-Nssm @("set", $name, "AppStopMethodConsole", "$StopTimeoutMs")
    Invoke-Nssm @("set", $name, "AppStopMethodWindow", "5000")
    Invoke-Nssm @("set", $name, "AppStopMethodThreads", "5000")
    Invoke-Nssm @("set", $name, "AppKillProcessTree", "1")
    if ($Start) { Invoke-Nssm @("start", $name) }
}
Write-Host "Listo. Servicios configurados: $($services.Name -join ', '). Logs de stdout/stderr en $LogDir."
if (-not $Start) { Write-Host "Inícielos con: nssm start SAM-Callback; nssm start SAM-Lanzador; nssm start SAM-Balanceador" }
