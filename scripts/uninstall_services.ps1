<#
.SYNOPSIS
  Detiene y elimina los servicios NSSM de SAM y la tarea programada de limpieza de sus logs.

.DESCRIPTION
  Ejecutar en PowerShell 5.1 o posterior como Administrador (sin permisos de Administrador termina
  con código 1 antes de hacer nada).

  Detiene primero todos los servicios en orden inverso al de arranque (SAM-Consola,
  SAM-Balanceador, SAM-Lanzador y por último SAM-Callback, que así sigue recibiendo los avisos de
  los bots que terminan durante la parada) y después los elimina. Elimina también la tarea
  programada SAM-LimpiezaLogsNSSM si existe.

  Idempotente: un servicio o una tarea que no existe se omite. No borra logs, configuración ni la
  base de datos.

.PARAMETER NssmExe
  Ruta a nssm.exe si no está en el PATH. Por defecto "nssm.exe".

.EXAMPLE
  .\scripts\uninstall_services.ps1
#>
param(
    [string] $NssmExe = "nssm.exe"
)

$principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
    [Console]::Error.WriteLine("ERROR: este script necesita permisos de Administrador. Abra PowerShell con 'Ejecutar como administrador' y vuelva a lanzarlo.")
    exit 1
}
$ErrorActionPreference = "Stop"

# Orden de PARADA: el inverso del de arranque de install_services.ps1 (tests/test_nssm_scripts.py lo comprueba).
$Servicios = @("SAM-Consola", "SAM-Balanceador", "SAM-Lanzador", "SAM-Callback")
$NombreTarea = "SAM-LimpiezaLogsNSSM"

function Stop-ConError([string] $Mensaje, [int] $Codigo = 1) {
    [Console]::Error.WriteLine("ERROR: $Mensaje")
    exit $Codigo
}

$nssm = Get-Command $NssmExe -ErrorAction SilentlyContinue
if (-not $nssm) { Stop-ConError "No se encuentra NSSM ('$NssmExe'). Instálelo y agréguelo al PATH o indique -NssmExe C:\ruta\nssm.exe." }
$nssm = $nssm.Source

$instalados = @()
foreach ($name in $Servicios) {
    if (Get-Service -Name $name -ErrorAction SilentlyContinue) { $instalados += $name }
    else { Write-Host "El servicio $name no está instalado; nada que hacer." }
}

$ErrorActionPreference = "Continue"   # la salida de error de nssm no es una excepción
foreach ($name in $instalados) {
    Write-Host "Deteniendo $name."
    & $nssm stop $name 2>&1 | Out-Null   # falla si ya estaba detenido: no importa
}
foreach ($name in $instalados) {
    Write-Host "Eliminando $name."
    $salida = & $nssm remove $name confirm 2>&1
    if ($LASTEXITCODE -ne 0) {
        $texto = (($salida | ForEach-Object { "$_" }) -join " ") -replace "`0", ""
        Stop-ConError "NSSM no pudo eliminar $name (código $LASTEXITCODE). $texto"
    }
}
$ErrorActionPreference = "Stop"

if (Get-ScheduledTask -TaskName $NombreTarea -ErrorAction SilentlyContinue) {
    Unregister-ScheduledTask -TaskName $NombreTarea -Confirm:$false
    Write-Host "Tarea programada $NombreTarea eliminada."
}
Write-Host "Servicios de SAM eliminados."
