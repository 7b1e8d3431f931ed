<#
.SYNOPSIS
  Instala (o actualiza) los servicios de SAM con NSSM: SAM-Callback, SAM-Lanzador, SAM-Balanceador
  y, si existe su punto de entrada (consola\run_consola.py), SAM-Consola.

.DESCRIPTION
  Ejecutar en PowerShell 5.1 o posterior como Administrador (sin permisos de Administrador termina
  con código 1 antes de hacer nada; sólo -SoloMostrar funciona sin ellos).

  Pasos, en este orden:
    1. Comprueba la configuración con "python -m comprobar" (si existe en esta versión);
       si sale con código 2 se detiene mostrando su salida y no toca ningún servicio.
    2. Detiene los servicios que ya existen, en orden inverso al de arranque.
    3. Instala o reconfigura cada servicio en el orden de arranque: callback, Lanzador,
       Balanceador (y consola). Un servicio opcional cuyo script no existe se omite con un aviso.
    4. Borra los archivos rotados de stdout/stderr de NSSM más antiguos (conserva -ConservarLogs
       por servicio y flujo) y, con -TareaLimpieza, registra una tarea programada diaria que lo repite.
    5. Con -Start, arranca los servicios en el orden de arranque.

  Idempotente: se puede volver a ejecutar tantas veces como se quiera (tras mover la instalación,
  cambiar de Python, de cuenta o de parámetros). Las variables de AppEnvironmentExtra que no son
  del script (añadidas a mano) se conservan; las del script (PYTHONUNBUFFERED, PYTHONIOENCODING)
  se fijan. La cuenta del servicio se fija siempre: sin -ServiceAccount vuelve a LocalSystem.

  Salida de cada servicio ante un código de salida de la aplicación:
    2        -> AppExit 2 Exit: error de configuración; el servicio se detiene (no se reinicia).
    otros    -> AppExit Default Restart: reinicio a los AppRestartDelay ms con AppThrottle.

.PARAMETER PythonExe
  Ruta completa al python.exe del entorno virtual (obligatorio).

.PARAMETER ProjectRoot
  Raíz de SAM. Por defecto, la carpeta padre de scripts\.

.PARAMETER NssmExe
  Ruta a nssm.exe si no está en el PATH. Por defecto "nssm.exe".

.PARAMETER LogDir
  Carpeta de la salida de consola capturada por NSSM. Por defecto <raíz>\logs.

.PARAMETER StopTimeoutMs
  Milisegundos que NSSM espera tras Ctrl+C al detener. Debe superar LANZADOR_SHUTDOWN_TIMEOUT_SEG y
  BALANCEADOR_SHUTDOWN_TIMEOUT_SEG (30 s por defecto) para que el cierre sea ordenado. Por defecto 45000.

.PARAMETER RotarBytes
  Tamaño (bytes) a partir del cual NSSM rota los .stdout.log / .stderr.log (AppRotateBytes),
  también con el servicio en marcha (AppRotateOnline). Por defecto 10485760 (10 MB).

.PARAMETER ConservarLogs
  Archivos rotados que se conservan por servicio y flujo (stdout, stderr); los más antiguos se
  borran al instalar y, con -TareaLimpieza, cada día. Por defecto 10.

.PARAMETER TareaLimpieza
  Registra (o actualiza) la tarea programada "SAM-LimpiezaLogsNSSM", que cada día a las 03:30, como
  SYSTEM, borra los archivos rotados que sobran en -LogDir conservando -ConservarLogs.

.PARAMETER ServiceAccount
  Cuenta con la que se ejecutan los servicios, p. ej. DOMINIO\usuario o .\usuario. Por defecto
  LocalSystem. La contraseña se pide por consola sin mostrarla (Read-Host -AsSecureString); nunca
  se pasa como parámetro. LocalSystem, NT AUTHORITY\LocalService, NT AUTHORITY\NetworkService y las
  cuentas administradas (terminadas en $) no la piden.

.PARAMETER SinComprobar
  No ejecuta la comprobación de la configuración antes de instalar.

.PARAMETER SoloMostrar
  No cambia nada: escribe, una por línea, cada orden de nssm que ejecutaría (la contraseña como
  ********). Las lecturas (nssm get, Get-Service) y la comprobación sí se hacen.

.PARAMETER Start
  Arranca los servicios al terminar, en el orden de arranque.

.EXAMPLE
  .\scripts\install_services.ps1 -PythonExe C:\SAM\.venv\Scripts\python.exe -ProjectRoot C:\SAM -Start

.EXAMPLE
  .\scripts\install_services.ps1 -PythonExe C:\SAM\.venv\Scripts\python.exe -ServiceAccount DOMINIO\svc_sam -TareaLimpieza -Start

.EXAMPLE
  .\scripts\install_services.ps1 -PythonExe C:\SAM\.venv\Scripts\python.exe -SoloMostrar
#>
param(
    [Parameter(Mandatory = $true)] [string] $PythonExe,
    [string] $ProjectRoot = (Split-Path -Parent $PSScriptRoot),
    [string] $NssmExe = "nssm.exe",
    [string] $LogDir = "",
    [int] $StopTimeoutMs = 45000,
    [ValidateRange(1048576, 2147483647)] [int] $RotarBytes = 10485760,
    [ValidateRange(1, 10000)] [int] $ConservarLogs = 10,
    [switch] $TareaLimpieza,
    [string] $ServiceAccount = "LocalSystem",
    [switch] $SinComprobar,
    [switch] $SoloMostrar,
    [switch] $Start
)

# ------------------------------------------------------------------ 0. permisos (antes de nada)
$principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
    if (-not $SoloMostrar) {
        [Console]::Error.WriteLine("ERROR: este script necesita permisos de Administrador. Abra PowerShell con 'Ejecutar como administrador' y vuelva a lanzarlo (o use -SoloMostrar para ver las órdenes sin cambiar nada).")
        exit 1
    }
    Write-Host "# Sin permisos de Administrador: con -SoloMostrar sólo se muestran las órdenes."
}
$ErrorActionPreference = "Stop"

# ------------------------------------------------------------------ datos
# tests/test_nssm_scripts.py lee estas tres tablas y reconstruye con ellas la lista de órdenes de
# NSSM; si las cambia, cambie también el test. $Servicios está en orden de ARRANQUE (callback
# primero, para no perder avisos de bots); la parada y uninstall_services.ps1 van al revés.
$Servicios = @(
    @{ Name = "SAM-Callback";    Script = "callback\run_callback.py";       Opcional = $false;
       Description = "SAM: servidor de callbacks de A360 (waitress)." },
    @{ Name = "SAM-Lanzador";    Script = "lanzador\run_lanzador.py";       Opcional = $false;
       Description = "SAM: sincroniza A360, lanza robots y concilia ejecuciones." },
    @{ Name = "SAM-Balanceador"; Script = "balanceador\run_balanceador.py"; Opcional = $false;
       Description = "SAM: asigna y libera equipos según los tickets pendientes." },
    @{ Name = "SAM-Consola";     Script = "consola\run_consola.py";         Opcional = $true;
       Description = "SAM: consola web de operación." }
)
# "nssm set <servicio> <ajuste...>" de cada servicio, en este orden. Marcadores: {Servicio},
# {Script} (ruta completa), {Descripcion}, {Raiz}, {Logs}, {StopTimeoutMs}, {RotarBytes}.
$Ajustes = @(
    @("AppParameters", '"{Script}"'),
    @("AppDirectory", "{Raiz}"),
    @("DisplayName", "{Servicio}"),
    @("Description", "{Descripcion}"),
    @("Start", "SERVICE_DELAYED_AUTO_START"),
    # stdout/stderr capturados y rotados por tamaño, también en marcha (los logs propios de SAM
    # rotan aparte, a medianoche).
    @("AppStdout", "{Logs}\{Servicio}.stdout.log"),
    @("AppStderr", "{Logs}\{Servicio}.stderr.log"),
    @("AppRotateFiles", "1"),
    @("AppRotateOnline", "1"),
    @("AppRotateBytes", "{RotarBytes}"),
    # Reinicio ante fallo a los 10 s, con un mínimo de 30 s de vida antes de considerarlo estable...
    @("AppExit", "Default", "Restart"),
    # ...salvo el código 2 (configuración no válida): el servicio se detiene en vez de reiniciarse.
    @("AppExit", "2", "Exit"),
    @("AppRestartDelay", "10000"),
    @("AppThrottle", "30000"),
    # Detención ordenada: primero Ctrl+C (el servicio termina lo que está en curso).
    @("AppStopMethodSkip", "0"),
    @("AppStopMethodConsole", "{StopTimeoutMs}"),
    @("AppStopMethodWindow", "5000"),
    @("AppStopMethodThreads", "5000"),
    @("AppKillProcessTree", "1")
)
# Variables de AppEnvironmentExtra que pone el script; las demás que tenga el servicio se conservan.
$EntornoPropio = [ordered]@{
    PYTHONUNBUFFERED = "1"
    PYTHONIOENCODING = "utf-8"
}
$CuentasSinContrasena = @("LocalSystem", "NT AUTHORITY\SYSTEM", "NT AUTHORITY\LocalService", "NT AUTHORITY\NetworkService")
$NombreTarea = "SAM-LimpiezaLogsNSSM"
$Oculto = "********"

# ------------------------------------------------------------------ funciones
function Stop-ConError([string] $Mensaje, [int] $Codigo = 1) {
    [Console]::Error.WriteLine("ERROR: $Mensaje")
    exit $Codigo
}

function Format-Orden([string[]] $NssmArgs, [string] $Secreto) {
    $partes = foreach ($a in $NssmArgs) {
        if ($Secreto -and $a -eq $Secreto) { $Oculto }
        elseif ($a -eq "" -or ($a -match '\s' -and $a -notmatch '^".*"$')) { '"' + $a + '"' }
        else { $a }
    }
    return "nssm " + ($partes -join " ")
}

# Ejecuta (o con -SoloMostrar escribe) una orden de nssm. $Secreto se muestra como ********.
function Invoke-Nssm([string[]] $NssmArgs, [string] $Secreto = "", [switch] $PermitirFallo) {
    if ($SoloMostrar) { Write-Output (Format-Orden $NssmArgs $Secreto); return }
    $ErrorActionPreference = "Continue"   # la salida de error de nssm no es una excepción
    $salida = & $script:nssm @NssmArgs 2>&1
    $codigo = $LASTEXITCODE
    if ($codigo -ne 0 -and -not $PermitirFallo) {
        $texto = (($salida | ForEach-Object { "$_" }) -join " ") -replace "`0", ""
        Stop-ConError "NSSM falló (código $codigo): $(Format-Orden $NssmArgs $Secreto). $texto"
    }
}

# Valor actual de AppEnvironmentExtra de un servicio existente, una entrada CLAVE=valor por elemento.
function Get-EntornoActual([string] $Servicio) {
    if (-not $script:nssm) { return @() }
    $ErrorActionPreference = "Continue"
    $salida = & $script:nssm get $Servicio AppEnvironmentExtra 2>&1
    if ($LASTEXITCODE -ne 0) { return @() }
    # nssm escribe UTF-16: al leerlo quedan caracteres nulos entre las letras.
    return @($salida | ForEach-Object { ("$_" -replace "`0", "").Trim() } | Where-Object { $_ -match '^[^=]+=' })
}

# Mezcla: conserva las entradas ajenas (en su orden) y pone las propias (sustituyendo su valor).
function Merge-Entorno([string[]] $Actual, $Propio) {
    $resultado = New-Object System.Collections.Generic.List[string]
    $puestas = @{}
    foreach ($entrada in $Actual) {
        $clave = $entrada.Split("=", 2)[0].Trim()
        $propia = @($Propio.Keys | Where-Object { $_ -ieq $clave })
        if ($propia.Count -eq 0) { $resultado.Add($entrada); continue }
        if (-not $puestas.ContainsKey($propia[0])) {
            $resultado.Add("$($propia[0])=$($Propio[$propia[0]])")
            $puestas[$propia[0]] = $true
        }
    }
    foreach ($clave in $Propio.Keys) {
        if (-not $puestas.ContainsKey($clave)) { $resultado.Add("$clave=$($Propio[$clave])") }
    }
    return ,$resultado.ToArray()
}

function Expand-Marcadores([string] $Texto, [hashtable] $Valores) {
    foreach ($clave in $Valores.Keys) { $Texto = $Texto.Replace("{$clave}", [string] $Valores[$clave]) }
    return $Texto
}

# Borra los archivos rotados por NSSM (SAM-X.stdout-20240131T235959.123.log) más antiguos,
# conservando los $Conservar más recientes de cada servicio y flujo. La tarea programada ejecuta
# este mismo bloque.
$Limpieza = {
    param([string] $Carpeta, [int] $Conservar)
    if (-not (Test-Path -LiteralPath $Carpeta -PathType Container)) { return }
    Get-ChildItem -LiteralPath $Carpeta -File |
        Where-Object { $_.Name -match '^SAM-[\w-]+\.std(out|err)-\d{8}T\d{6}\.\d{3}\.log$' } |
        Group-Object { $_.Name -replace '-\d{8}T\d{6}\.\d{3}\.log$', '' } |
        ForEach-Object {
            $_.Group | Sort-Object LastWriteTime -Descending | Select-Object -Skip $Conservar |
                Remove-Item -Force -ErrorAction Continue
        }
}

# ------------------------------------------------------------------ comprobaciones previas
$nssm = Get-Command $NssmExe -ErrorAction SilentlyContinue
if ($nssm) { $nssm = $nssm.Source }
elseif ($SoloMostrar) { Write-Host "# No se encuentra NSSM ('$NssmExe'): no se leen los valores actuales." }
else { Stop-ConError "No se encuentra NSSM ('$NssmExe'). Instálelo y agréguelo al PATH o indique -NssmExe C:\ruta\nssm.exe." }
if (-not (Test-Path -LiteralPath $PythonExe -PathType Leaf)) { Stop-ConError "No se encuentra el ejecutable de Python: '$PythonExe'. Indique -PythonExe con la ruta completa al python.exe del entorno virtual." }
$PythonExe = (Resolve-Path -LiteralPath $PythonExe).Path
if (-not (Test-Path -LiteralPath (Join-Path $ProjectRoot "lanzador\run_lanzador.py"))) { Stop-ConError "'$ProjectRoot' no parece la raíz de SAM (falta lanzador\run_lanzador.py). Indique -ProjectRoot." }
$ProjectRoot = (Resolve-Path -LiteralPath $ProjectRoot).Path
if (-not $LogDir) { $LogDir = Join-Path $ProjectRoot "logs" }
if (-not $ServiceAccount.Trim()) { Stop-ConError "-ServiceAccount está vacío: indique DOMINIO\usuario u omítalo para usar LocalSystem." }
$ServiceAccount = $ServiceAccount.Trim()

# 1. Comprobación de la configuración (si esta versión la trae).
$comprobador = @("comprobar\__init__.py", "comprobar\__main__.py") |
    Where-Object { Test-Path -LiteralPath (Join-Path $ProjectRoot $_) -PathType Leaf }
if ($SinComprobar) {
    Write-Host "# -SinComprobar: no se comprueba la configuración."
} elseif (-not $comprobador) {
    Write-Host "# Esta versión no trae comprobar: no se comprueba la configuración."
} else {
    Write-Host "# Comprobando la configuración: python -m comprobar"
    $ErrorActionPreference = "Continue"
    $codificacionAnterior = [Console]::OutputEncoding
    $ioAnterior = $env:PYTHONIOENCODING
    $env:PYTHONIOENCODING = "utf-8"
    try { [Console]::OutputEncoding = [Text.Encoding]::UTF8 } catch { }
    Push-Location -LiteralPath $ProjectRoot
    try {
        $salida = & $PythonExe -m comprobar 2>&1
        $codigo = $LASTEXITCODE
    } finally {
        Pop-Location
        try { [Console]::OutputEncoding = $codificacionAnterior } catch { }
        $env:PYTHONIOENCODING = $ioAnterior
    }
    $ErrorActionPreference = "Stop"
    $texto = ($salida | ForEach-Object { "$_" }) -join [Environment]::NewLine
    if ($texto) { Write-Host $texto }
    if ($codigo -eq 2) {
        Stop-ConError "La configuración tiene errores (python -m comprobar salió con código 2; detalle arriba). Corríjalos en el .env y vuelva a ejecutar el script; no se ha cambiado ningún servicio." 2
    }
    if ($codigo -ne 0) {
        Stop-ConError "La comprobación de la configuración terminó con código $codigo (detalle arriba); no se ha cambiado ningún servicio. Use -SinComprobar para instalar igualmente."
    }
    Write-Host "# Configuración correcta."
}

# Servicios que se instalan (un servicio opcional sin su script se omite).
$instalar = @()
foreach ($svc in $Servicios) {
    if (Test-Path -LiteralPath (Join-Path $ProjectRoot $svc.Script) -PathType Leaf) { $instalar += $svc }
    elseif ($svc.Opcional) { Write-Host "# Se omite $($svc.Name): no existe $($svc.Script) en esta versión." }
    else { Stop-ConError "Falta $($svc.Script) en '$ProjectRoot': la copia de SAM está incompleta." }
}

# Contraseña de la cuenta del servicio: se pide antes de cambiar nada, nunca por parámetro.
$contrasena = ""
$necesitaContrasena = -not (($CuentasSinContrasena -contains $ServiceAccount) -or $ServiceAccount.EndsWith('$'))
if ($necesitaContrasena -and $SoloMostrar) {
    $contrasena = $Oculto
} elseif ($necesitaContrasena) {
    $segura = Read-Host -AsSecureString "Contraseña de $ServiceAccount (no se muestra)"
    $contrasena = (New-Object System.Net.NetworkCredential("", $segura)).Password
    if (-not $contrasena) { Stop-ConError "No se ha indicado la contraseña de $ServiceAccount; no se ha cambiado ningún servicio." }
}

# ------------------------------------------------------------------ 2. detener (orden inverso)
$existentes = @{}
foreach ($svc in $instalar) { $existentes[$svc.Name] = [bool] (Get-Service -Name $svc.Name -ErrorAction SilentlyContinue) }
for ($i = $instalar.Count - 1; $i -ge 0; $i--) {
    $name = $instalar[$i].Name
    if ($existentes[$name]) {
        Write-Host "# El servicio $name ya existe: se detiene y se actualiza su configuración."
        Invoke-Nssm @("stop", $name) -PermitirFallo
    }
}

# ------------------------------------------------------------------ 3. instalar / configurar
if (-not $SoloMostrar) { New-Item -ItemType Directory -Force -Path $LogDir | Out-Null }
foreach ($svc in $instalar) {
    $name = $svc.Name
    if ($existentes[$name]) {
        Invoke-Nssm @("set", $name, "Application", $PythonExe)
        $entornoActual = Get-EntornoActual $name
    } else {
        Write-Host "# Instalando el servicio $name."
        Invoke-Nssm @("install", $name, $PythonExe)
        $entornoActual = @()
    }
    $valores = @{
        Servicio = $name; Script = (Join-Path $ProjectRoot $svc.Script); Descripcion = $svc.Description
        Raiz = $ProjectRoot; Logs = $LogDir; StopTimeoutMs = $StopTimeoutMs; RotarBytes = $RotarBytes
    }
    foreach ($ajuste in $Ajustes) {
        $argumentos = @("set", $name) + @($ajuste | ForEach-Object { Expand-Marcadores $_ $valores })
        Invoke-Nssm $argumentos
    }
    Invoke-Nssm (@("set", $name, "AppEnvironmentExtra") + (Merge-Entorno $entornoActual $EntornoPropio))
    if ($contrasena) { Invoke-Nssm @("set", $name, "ObjectName", $ServiceAccount, $contrasena) -Secreto $contrasena }
    else { Invoke-Nssm @("set", $name, "ObjectName", $ServiceAccount) }
}
$contrasena = ""

# ------------------------------------------------------------------ 4. retención de logs de NSSM
if ($SoloMostrar) {
    Write-Host "# Se borrarían los archivos rotados de $LogDir salvo los $ConservarLogs más recientes de cada servicio y flujo."
} else {
    & $Limpieza $LogDir $ConservarLogs
}
if ($TareaLimpieza) {
    $orden = "& {$Limpieza} '$($LogDir.Replace("'", "''"))' $ConservarLogs"
    $codificada = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($orden))
    if ($SoloMostrar) {
        Write-Host "# Se registraría la tarea programada $NombreTarea (diaria, 03:30, SYSTEM) con: $orden"
    } else {
        $accion = New-ScheduledTaskAction -Execute "powershell.exe" -Argument "-NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand $codificada"
        $disparador = New-ScheduledTaskTrigger -Daily -At "03:30"
        $cuentaTarea = New-ScheduledTaskPrincipal -UserId "SYSTEM" -LogonType ServiceAccount -RunLevel Highest
        Register-ScheduledTask -TaskName $NombreTarea -Action $accion -Trigger $disparador -Principal $cuentaTarea `
            -Description "SAM: borra los logs rotados de NSSM en $LogDir conservando los $ConservarLogs más recientes por servicio y flujo." `
            -Force | Out-Null
        Write-Host "Tarea programada $NombreTarea registrada (cada día a las 03:30)."
    }
}

# ------------------------------------------------------------------ 5. arrancar (orden de arranque)
if ($Start) {
    foreach ($svc in $instalar) { Invoke-Nssm @("start", $svc.Name) }
}
$nombres = ($instalar | ForEach-Object { $_.Name }) -join ", "
if ($SoloMostrar) { Write-Host "# -SoloMostrar: no se ha cambiado nada." ; exit 0 }
Write-Host "Listo. Servicios configurados: $nombres (cuenta $ServiceAccount). Logs de stdout/stderr en $LogDir."
if (-not $Start) {
    Write-Host "Inícielos en este orden con: $(($instalar | ForEach-Object { "nssm start $($_.Name)" }) -join '; ')"
}
