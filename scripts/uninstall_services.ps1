<#
.SYNOPSIS
  Detiene y elimina los servicios NSSM de SAM (SAM-Lanzador, SAM-Callback, SAM-Balanceador).
  Idempotente: un servicio que no existe se omite. No borra logs, configuración ni la base de datos.
#>
param(
    [string] $NssmExe = "nssm.exe"
)
$ErrorActionPreference = "Stop"

$nssm = Get-Command $NssmExe -ErrorAction SilentlyContinue
if (-not $nssm) { throw "No se encuentra NSSM ('$NssmExe'). Instálelo y agréguelo al PATH o indique -NssmExe C:\ruta\nssm.exe." }
$nssm = $nssm.Source

foreach ($name in @("SAM-Lanzador", "SAM-Balanceador", "SAM-Callback")) {
    if (-not (Get-Service -Name $name -ErrorAction SilentlyContinue)) {
        Write-Host "El servicio $name no está instalado; nada que hacer."
        continue
    }
    Write-Host "Deteniendo y eliminando $name."
    & $nssm stop $name | Out-Null
    & $nssm remove $name confirm | Out-Null
    if ($LASTEXITCODE -ne 0) { throw "NSSM no pudo eliminar $name (código $LASTEXITCODE)." }
}
Write-Host "Servicios de SAM eliminados."
