-- =============================================================================================
-- SAM - Sistema Automático de Robots: esquema de la base de datos SAM (SQL Server)
--
-- Script canónico: crea todas las tablas, claves, índices, vistas y procedimientos.
-- Es idempotente: puede ejecutarse de nuevo sobre una base existente sin daño
-- (IF NOT EXISTS / COL_LENGTH / CREATE OR ALTER). Sobre una base del SAM original añade las
-- columnas nuevas. Requiere SQL Server 2016 SP1 o superior (CREATE OR ALTER, STRING_SPLIT,
-- nivel de compatibilidad 130+); el primer lote lo comprueba.
--
-- Uso:  sqlcmd -S <servidor> -d <base> -E -b -I -f 65001 -i SAM.sql
--       (-b: se detiene en el primer error; -I: QUOTED_IDENTIFIER ON; -f 65001: lee el archivo
--       como UTF-8, sin él los textos con tildes llegan corruptos)
--
-- Antes de cambiar nada, el script comprueba la versión del servidor, el nivel de compatibilidad,
-- la codificación y los datos heredados (claves, tipos, duplicados, huérfanos). Si una comprobación
-- falla, muestra qué falla y cómo corregirlo, y no ejecuta nada más (SET NOEXEC ON), también sin -b
-- o en SSMS. El script se aplicó completo sólo si termina con "Esquema SAM aplicado correctamente.".
--
-- Trabajos de mantenimiento (pasos T-SQL del Agente SQL, scripts propios) que escriban en
-- dbo.Ejecuciones: empiécelos con SET QUOTED_IDENTIFIER ON; (el Agente lo deja en OFF por
-- defecto). Los índices únicos filtrados de dbo.Ejecuciones hacen fallar con el error 1934
-- cualquier INSERT/UPDATE/DELETE de una sesión con QUOTED_IDENTIFIER OFF.
--
-- Fechas: hora local sin zona (como GETDATE() en el original); el servicio escribe la hora de
-- SAM_ZONA_HORARIA. El gemelo SQLite es common/database/sam_sqlite.sql (mismas tablas y columnas).
-- =============================================================================================

-- ---------------------------------------------------------------------------------------------
-- Comprobación del entorno (primer lote: antes de cambiar nada)
--
-- Refuses, in one message listing every failure: a server older than SQL Server 2016 SP1
-- (13.0.4001: CREATE OR ALTER, STRING_SPLIT, OPENJSON); a database below compatibility level 130
-- (STRING_SPLIT/OPENJSON are resolved at run time, so the script would complete and the services
-- fail later with Msg 208); a system database (sqlcmd without -d lands in master); and a script
-- decoded with the wrong code page (encoding canary). Azure SQL Database / Managed Instance
-- (EngineEdition 5 / 8) report another ProductVersion and have every feature needed: only the
-- compatibility level is checked there.
--
-- Pattern of every check of this script: RAISERROR(@Mensaje, 16, 1) and then SET NOEXEC ON, so
-- nothing after the failure is executed, with or without sqlcmd -b and in SSMS (which goes on
-- after an error). THROW would end the batch at once and SET NOEXEC ON would never run. The
-- following batches are then only compiled (SSMS may show compile errors after the first
-- message: fix the first one). The last batch of the script is SET NOEXEC OFF (session left clean).
--
-- This batch only uses T-SQL that SQL Server 2008 understands (no CONCAT/THROW/TRY_CONVERT), so
-- an old server gets this message and not a syntax error, and its messages are ASCII: they must
-- be readable even when the encoding canary fires.
-- ---------------------------------------------------------------------------------------------
SET NOCOUNT ON;
DECLARE @Mensaje NVARCHAR(2048) = N'';
DECLARE @Version NVARCHAR(128) = ISNULL(CONVERT(NVARCHAR(128), SERVERPROPERTY('ProductVersion')), N'?');
DECLARE @Nivel NVARCHAR(128) = ISNULL(CONVERT(NVARCHAR(128), SERVERPROPERTY('ProductLevel')), N'?');
DECLARE @Edicion INT = CONVERT(INT, SERVERPROPERTY('EngineEdition'));
DECLARE @PartesVersion NVARCHAR(128) = @Version;
DECLARE @Mayor INT;
DECLARE @Menor INT;
DECLARE @Compilacion INT;
DECLARE @Compatibilidad INT;
DECLARE @Canario INT = UNICODE(N'Á');  -- sam-lint: canario-codificacion

-- ProductVersion is 'major.minor.build.revision' (13.0.4001.0); PARSENAME reads the parts from
-- the right, so a 3-part value is padded first. A part that is not a number leaves NULL.
IF PARSENAME(@PartesVersion, 4) IS NULL SET @PartesVersion = @PartesVersion + N'.0';
SET @Mayor = CASE WHEN PARSENAME(@PartesVersion, 4) NOT LIKE N'%[^0-9]%'
    THEN CONVERT(INT, PARSENAME(@PartesVersion, 4)) END;
SET @Menor = CASE WHEN PARSENAME(@PartesVersion, 3) NOT LIKE N'%[^0-9]%'
    THEN CONVERT(INT, PARSENAME(@PartesVersion, 3)) END;
SET @Compilacion = CASE WHEN PARSENAME(@PartesVersion, 2) NOT LIKE N'%[^0-9]%'
    THEN CONVERT(INT, PARSENAME(@PartesVersion, 2)) END;

IF ISNULL(@Edicion, 0) NOT IN (5, 8)
   AND (
       @Mayor IS NULL OR @Menor IS NULL OR @Compilacion IS NULL
       OR @Mayor < 13
       OR (@Mayor = 13 AND @Menor = 0 AND @Compilacion < 4001)
   )
    SET @Mensaje = @Mensaje + N'- El servidor es SQL Server ' + @Version + N' (' + @Nivel
        + N'), no SQL Server 2016 SP1 (13.0.4001) o superior: SAM necesita CREATE OR ALTER, '
        + N'STRING_SPLIT y OPENJSON. Actualice el servidor a SQL Server 2016 SP1 o superior.'
        + NCHAR(13) + NCHAR(10);

SELECT @Compatibilidad = d.compatibility_level
FROM sys.databases AS d
WHERE d.database_id = DB_ID();
IF @Compatibilidad < 130
    SET @Mensaje = @Mensaje + N'- La base de datos ' + QUOTENAME(DB_NAME()) + N' tiene nivel de '
        + N'compatibilidad ' + CONVERT(NVARCHAR(10), @Compatibilidad) + N'; SAM necesita 130 o '
        + N'superior (STRING_SPLIT, OPENJSON). Ejecute: ALTER DATABASE ' + QUOTENAME(DB_NAME())
        + N' SET COMPATIBILITY_LEVEL = 130;' + NCHAR(13) + NCHAR(10);

IF DB_NAME() IN (N'master', N'model', N'msdb', N'tempdb')
    SET @Mensaje = @Mensaje + N'- La conexion esta en la base de sistema ' + QUOTENAME(DB_NAME())
        + N': indique la base SAM con sqlcmd -d <base> (o USE <base> en SSMS).' + NCHAR(13) + NCHAR(10);

IF ISNULL(@Canario, 0) <> 193
    SET @Mensaje = @Mensaje + N'- El archivo SAM.sql se leyo con una codificacion que no es UTF-8 '
        + N'(la letra A con tilde llego como el caracter ' + ISNULL(CONVERT(NVARCHAR(10), @Canario), N'?')
        + N' y no como el 193): los textos con tildes del script se guardarian corruptos. Ejecute '
        + N'sqlcmd con -f 65001: sqlcmd -S <servidor> -d <base> -E -b -I -f 65001 -i SAM.sql'
        + NCHAR(13) + NCHAR(10);

IF @Mensaje <> N''
BEGIN
    SET @Mensaje = N'SAM.sql no se ha aplicado (no se ha cambiado nada):' + NCHAR(13) + NCHAR(10)
        + @Mensaje;
    SET @Mensaje = REPLACE(@Mensaje, N'%', N'%%');  -- RAISERROR reads % as a format specification
    RAISERROR(@Mensaje, 16, 1);
    SET NOEXEC ON;
END;
GO

-- Session options required by filtered indexes and by the procedures that modify their tables.
SET ANSI_NULLS ON;
SET ANSI_PADDING ON;
SET ANSI_WARNINGS ON;
SET ARITHABORT ON;
SET CONCAT_NULL_YIELDS_NULL ON;
SET NUMERIC_ROUNDABORT OFF;
GO
-- Filtered indexes need QUOTED_IDENTIFIER ON when procedures modify the table (sqlcmd's default is OFF).
SET QUOTED_IDENTIFIER ON;
GO
SET NOCOUNT ON;
GO

-- ---------------------------------------------------------------------------------------------
-- Comprobaciones previas sobre una base heredada (SAM original actualizado en el sitio)
--
-- Each check protects an upgrade step below that the legacy schema or data can break, and all
-- of them run before the first change, so a failed check leaves the database as it was (only
-- blank DeploymentIds are set to NULL, which changes no meaning). On a new database the tables
-- do not exist yet and every check passes; on an upgraded one too, and nothing changes.
-- A batch that names a column missing from an existing table does not even compile (inside an
-- IF too), so queries on columns that a migration batch may still have to add are dynamic SQL.
-- ---------------------------------------------------------------------------------------------

-- 1. Columns of the legacy tables. Every column SAM.sql declares and does not add itself must
--    exist, and the ones that keys, indexes, foreign keys and comparisons depend on must have a
--    compatible type: an NVARCHAR(MAX)/NTEXT index key fails with Msg 1919, a foreign key between
--    different types with Msg 1778, a nullable primary key column with Msg 8111, an NTEXT column
--    in a comparison with Msg 402. Every mismatch is reported in one message.
--    Regla: entero = INT; identidad = INT IDENTITY (SAM inserts without a value); clave = index
--    key, (N)VARCHAR not MAX; texto = (N)CHAR/(N)VARCHAR, MAX allowed (INCLUDE columns and
--    comparisons); fecha = DATE/DATETIME/DATETIME2/SMALLDATETIME; datetime2 = compared for
--    equality with a DATETIME2(3) value; hora = TIME; bit = BIT (index key); cualquiera = only
--    has to exist.
--    LongitudMinima: the longest value SAM writes (a UUID, 'BOTSTORE_PACKAGE_DOWNLOADING', ...).
DECLARE @Esperadas TABLE (
    Tabla NVARCHAR(128) COLLATE DATABASE_DEFAULT NOT NULL,
    Columna NVARCHAR(128) COLLATE DATABASE_DEFAULT NOT NULL,
    TipoSAM NVARCHAR(30) COLLATE DATABASE_DEFAULT NOT NULL,
    Regla NVARCHAR(20) COLLATE DATABASE_DEFAULT NOT NULL,
    LongitudMinima INT NULL,
    LaAnadeSAM BIT NOT NULL
);
DECLARE @Fallos TABLE (
    N INT IDENTITY (1, 1) NOT NULL,
    Tabla NVARCHAR(128) COLLATE DATABASE_DEFAULT NOT NULL,
    Columna NVARCHAR(128) COLLATE DATABASE_DEFAULT NOT NULL,
    Actual NVARCHAR(200) COLLATE DATABASE_DEFAULT NOT NULL,
    Motivo NVARCHAR(20) COLLATE DATABASE_DEFAULT NOT NULL,
    TipoSAM NVARCHAR(30) COLLATE DATABASE_DEFAULT NOT NULL,
    LongitudMinima INT NULL,
    AdmiteNulos BIT NOT NULL
);
DECLARE @Mensaje NVARCHAR(MAX) = N'';
DECLARE @MensajeLinea NVARCHAR(MAX);
DECLARE @Omitidas INT = 0;
DECLARE @i INT = 1;
DECLARE @Total INT;
DECLARE @Tabla NVARCHAR(128);
DECLARE @Columna NVARCHAR(128);
DECLARE @Actual NVARCHAR(200);
DECLARE @Motivo NVARCHAR(20);
DECLARE @TipoSAM NVARCHAR(30);
DECLARE @LongitudMinima INT;
DECLARE @AdmiteNulos BIT;
DECLARE @Arreglo NVARCHAR(400);

INSERT INTO @Esperadas (Tabla, Columna, TipoSAM, Regla, LongitudMinima, LaAnadeSAM)
VALUES
    (N'Robots', N'RobotId', N'INT', N'entero', NULL, 0),
    (N'Robots', N'Robot', N'NVARCHAR(100)', N'texto', NULL, 0),
    (N'Robots', N'Descripcion', N'NVARCHAR(4000)', N'cualquiera', NULL, 0),
    (N'Robots', N'Parametros', N'NVARCHAR(MAX)', N'cualquiera', NULL, 0),
    (N'Robots', N'EsOnline', N'BIT', N'cualquiera', NULL, 0),
    (N'Robots', N'Activo', N'BIT', N'cualquiera', NULL, 0),
    (N'Robots', N'MinEquipos', N'INT', N'cualquiera', NULL, 0),
    (N'Robots', N'MaxEquipos', N'INT', N'cualquiera', NULL, 0),
    (N'Robots', N'PrioridadBalanceo', N'INT', N'cualquiera', NULL, 0),
    (N'Robots', N'TicketsPorEquipoAdicional', N'INT', N'cualquiera', NULL, 1),
    (N'Robots', N'ExisteEnA360', N'BIT', N'cualquiera', NULL, 1),
    (N'Robots', N'FechaSincronizacion', N'DATETIME2(3)', N'datetime2', NULL, 1),
    (N'Robots', N'PoolId', N'INT', N'entero', NULL, 1),
    (N'Robots', N'FechaActualizacion', N'DATETIME2(3)', N'datetime2', NULL, 1),
    (N'Equipos', N'EquipoId', N'INT', N'entero', NULL, 0),
    (N'Equipos', N'Equipo', N'NVARCHAR(100)', N'texto', NULL, 0),
    (N'Equipos', N'UserId', N'INT', N'cualquiera', NULL, 0),
    (N'Equipos', N'UserName', N'NVARCHAR(100)', N'cualquiera', NULL, 0),
    (N'Equipos', N'Licencia', N'NVARCHAR(50)', N'texto', NULL, 0),
    (N'Equipos', N'Activo_SAM', N'BIT', N'cualquiera', NULL, 0),
    (N'Equipos', N'EstadoBalanceador', N'NVARCHAR(50)', N'cualquiera', NULL, 0),
    (N'Equipos', N'PermiteBalanceoDinamico', N'BIT', N'cualquiera', NULL, 0),
    (N'Equipos', N'EstadoA360', N'NVARCHAR(50)', N'texto', NULL, 1),
    (N'Equipos', N'UsuarioActivoA360', N'BIT', N'cualquiera', NULL, 1),
    (N'Equipos', N'FechaSincronizacion', N'DATETIME2(3)', N'datetime2', NULL, 1),
    (N'Equipos', N'PoolId', N'INT', N'entero', NULL, 1),
    (N'Equipos', N'FechaActualizacion', N'DATETIME2(3)', N'datetime2', NULL, 1),
    (N'Programaciones', N'ProgramacionId', N'INT', N'identidad', NULL, 0),
    (N'Programaciones', N'RobotId', N'INT', N'entero', NULL, 0),
    (N'Programaciones', N'TipoProgramacion', N'NVARCHAR(20)', N'texto', 10, 0),
    (N'Programaciones', N'HoraInicio', N'TIME(0)', N'hora', NULL, 0),
    (N'Programaciones', N'DiaSemana', N'NVARCHAR(50)', N'texto', NULL, 0),
    (N'Programaciones', N'DiaDelMes', N'INT', N'cualquiera', NULL, 0),
    (N'Programaciones', N'FechaEspecifica', N'DATE', N'fecha', NULL, 0),
    (N'Programaciones', N'Tolerancia', N'INT', N'cualquiera', NULL, 0),
    (N'Programaciones', N'Activo', N'BIT', N'cualquiera', NULL, 1),
    (N'Programaciones', N'EsCiclico', N'BIT', N'cualquiera', NULL, 1),
    (N'Programaciones', N'HoraFin', N'TIME(0)', N'hora', NULL, 1),
    (N'Programaciones', N'FechaInicioVentana', N'DATE', N'fecha', NULL, 1),
    (N'Programaciones', N'FechaFinVentana', N'DATE', N'fecha', NULL, 1),
    (N'Programaciones', N'IntervaloEntreEjecuciones', N'INT', N'cualquiera', NULL, 1),
    (N'Programaciones', N'DiaInicioMes', N'INT', N'cualquiera', NULL, 1),
    (N'Programaciones', N'DiaFinMes', N'INT', N'cualquiera', NULL, 1),
    (N'Programaciones', N'UltimosDiasMes', N'INT', N'cualquiera', NULL, 1),
    (N'Programaciones', N'FechaActualizacion', N'DATETIME2(3)', N'datetime2', NULL, 1),
    (N'Asignaciones', N'RobotId', N'INT', N'entero', NULL, 0),
    (N'Asignaciones', N'EquipoId', N'INT', N'entero', NULL, 0),
    (N'Asignaciones', N'EsProgramado', N'BIT', N'cualquiera', NULL, 0),
    (N'Asignaciones', N'Reservado', N'BIT', N'cualquiera', NULL, 0),
    (N'Asignaciones', N'FechaAsignacion', N'DATETIME2(3)', N'fecha', NULL, 0),
    (N'Asignaciones', N'AsignadoPor', N'NVARCHAR(50)', N'texto', 12, 0),
    (N'Asignaciones', N'ProgramacionId', N'INT', N'entero', NULL, 1),
    (N'Ejecuciones', N'EjecucionId', N'INT', N'identidad', NULL, 1),
    (N'Ejecuciones', N'DeploymentId', N'NVARCHAR(100)', N'clave', 36, 0),
    (N'Ejecuciones', N'RobotId', N'INT', N'entero', NULL, 0),
    (N'Ejecuciones', N'EquipoId', N'INT', N'entero', NULL, 0),
    (N'Ejecuciones', N'UserId', N'INT', N'cualquiera', NULL, 0),
    (N'Ejecuciones', N'Hora', N'TIME(0)', N'hora', NULL, 0),
    (N'Ejecuciones', N'FechaInicio', N'DATETIME2(3)', N'fecha', NULL, 0),
    (N'Ejecuciones', N'FechaFin', N'DATETIME2(3)', N'fecha', NULL, 0),
    (N'Ejecuciones', N'Estado', N'NVARCHAR(50)', N'clave', 28, 0),
    (N'Ejecuciones', N'FechaActualizacion', N'DATETIME2(3)', N'fecha', NULL, 0),
    (N'Ejecuciones', N'CallbackInfo', N'NVARCHAR(MAX)', N'cualquiera', NULL, 0),
    (N'Ejecuciones', N'MensajeError', N'NVARCHAR(4000)', N'cualquiera', NULL, 1),
    (N'Ejecuciones', N'FechaSlot', N'DATE', N'fecha', NULL, 1),
    (N'Ejecuciones', N'RondasNoEncontrado', N'INT', N'cualquiera', NULL, 1),
    (N'Ejecuciones', N'AlertaDuracionEnviada', N'BIT', N'cualquiera', NULL, 1),
    (N'Ejecuciones', N'ClaveIntento', N'NVARCHAR(36)', N'clave', 36, 1),
    (N'Ejecuciones', N'FalloSinConfirmar', N'BIT', N'cualquiera', NULL, 1),
    (N'HistoricoBalanceo', N'HistoricoId', N'INT', N'identidad', NULL, 0),
    (N'HistoricoBalanceo', N'FechaBalanceo', N'DATETIME2(3)', N'fecha', NULL, 0),
    (N'HistoricoBalanceo', N'RobotId', N'INT', N'entero', NULL, 0),
    (N'HistoricoBalanceo', N'TicketsPendientes', N'INT', N'cualquiera', NULL, 0),
    (N'HistoricoBalanceo', N'EquiposAsignadosAntes', N'INT', N'cualquiera', NULL, 0),
    (N'HistoricoBalanceo', N'EquiposAsignadosDespues', N'INT', N'cualquiera', NULL, 0),
    (N'HistoricoBalanceo', N'AccionTomada', N'NVARCHAR(50)', N'cualquiera', NULL, 0),
    (N'HistoricoBalanceo', N'Justificacion', N'NVARCHAR(1000)', N'cualquiera', NULL, 0),
    (N'HistoricoBalanceo', N'CodigoMotivo', N'NVARCHAR(50)', N'cualquiera', NULL, 1),
    (N'HistoricoBalanceo', N'EquipoIds', N'NVARCHAR(4000)', N'cualquiera', NULL, 1),
    (N'HistoricoBalanceo', N'PoolId', N'INT', N'cualquiera', NULL, 1),
    (N'Pools', N'PoolId', N'INT', N'identidad', NULL, 0),
    (N'Pools', N'Nombre', N'NVARCHAR(100)', N'clave', 1, 0),
    (N'Pools', N'Descripcion', N'NVARCHAR(4000)', N'cualquiera', NULL, 0),
    (N'Pools', N'Activo', N'BIT', N'bit', NULL, 0),
    (N'Pools', N'FechaActualizacion', N'DATETIME2(3)', N'fecha', NULL, 0),
    (N'MapeoRobots', N'MapeoId', N'INT', N'identidad', NULL, 0),
    (N'MapeoRobots', N'Proveedor', N'NVARCHAR(50)', N'clave', 8, 0),
    (N'MapeoRobots', N'NombreExterno', N'NVARCHAR(200)', N'clave', 1, 0),
    (N'MapeoRobots', N'RobotId', N'INT', N'entero', NULL, 0),
    (N'ErrorLog', N'ErrorLogId', N'INT', N'identidad', NULL, 0),
    (N'ErrorLog', N'FechaError', N'DATETIME2(3)', N'fecha', NULL, 0),
    (N'ErrorLog', N'Usuario', N'NVARCHAR(128)', N'cualquiera', NULL, 0),
    (N'ErrorLog', N'SPNombre', N'NVARCHAR(128)', N'cualquiera', NULL, 0),
    (N'ErrorLog', N'ErrorMensaje', N'NVARCHAR(4000)', N'cualquiera', NULL, 0),
    (N'ErrorLog', N'Parametros', N'NVARCHAR(MAX)', N'cualquiera', NULL, 0),
    (N'CallbacksRecibidos', N'CallbackId', N'INT', N'identidad', NULL, 0),
    (N'CallbacksRecibidos', N'DeploymentId', N'NVARCHAR(100)', N'clave', 36, 0),
    (N'CallbacksRecibidos', N'FechaRecepcion', N'DATETIME2(3)', N'fecha', NULL, 0),
    (N'CallbacksRecibidos', N'Estado', N'NVARCHAR(50)', N'cualquiera', NULL, 0),
    (N'CallbacksRecibidos', N'Payload', N'NVARCHAR(MAX)', N'cualquiera', NULL, 0),
    (N'CallbacksRecibidos', N'Aplicado', N'BIT', N'bit', NULL, 0),
    (N'Ejecuciones_Historico', N'EjecucionId', N'INT', N'entero', NULL, 0),
    (N'Ejecuciones_Historico', N'DeploymentId', N'NVARCHAR(100)', N'clave', 36, 0),
    (N'Ejecuciones_Historico', N'RobotId', N'INT', N'entero', NULL, 0),
    (N'Ejecuciones_Historico', N'EquipoId', N'INT', N'entero', NULL, 0),
    (N'Ejecuciones_Historico', N'UserId', N'INT', N'cualquiera', NULL, 0),
    (N'Ejecuciones_Historico', N'Hora', N'TIME(0)', N'hora', NULL, 0),
    (N'Ejecuciones_Historico', N'FechaInicio', N'DATETIME2(3)', N'fecha', NULL, 0),
    (N'Ejecuciones_Historico', N'FechaFin', N'DATETIME2(3)', N'fecha', NULL, 0),
    (N'Ejecuciones_Historico', N'Estado', N'NVARCHAR(50)', N'texto', 28, 0),
    (N'Ejecuciones_Historico', N'FechaActualizacion', N'DATETIME2(3)', N'fecha', NULL, 0),
    (N'Ejecuciones_Historico', N'CallbackInfo', N'NVARCHAR(MAX)', N'cualquiera', NULL, 0),
    (N'Ejecuciones_Historico', N'MensajeError', N'NVARCHAR(4000)', N'cualquiera', NULL, 0),
    (N'Ejecuciones_Historico', N'FechaSlot', N'DATE', N'fecha', NULL, 0),
    (N'Ejecuciones_Historico', N'RondasNoEncontrado', N'INT', N'cualquiera', NULL, 0),
    (N'Ejecuciones_Historico', N'AlertaDuracionEnviada', N'BIT', N'cualquiera', NULL, 0),
    (N'Ejecuciones_Historico', N'ClaveIntento', N'NVARCHAR(36)', N'texto', 36, 0),
    (N'Ejecuciones_Historico', N'FalloSinConfirmar', N'BIT', N'cualquiera', NULL, 0),
    (N'Ejecuciones_Historico', N'FechaMovimiento', N'DATETIME2(3)', N'fecha', NULL, 0),
    (N'Liderazgo', N'Rol', N'NVARCHAR(20)', N'clave', 11, 0),
    (N'Liderazgo', N'Titular', N'NVARCHAR(200)', N'texto', 60, 0),
    (N'Liderazgo', N'Host', N'NVARCHAR(255)', N'texto', 63, 0),
    (N'Liderazgo', N'Pid', N'INT', N'entero', NULL, 0),
    (N'Liderazgo', N'DesdeUtc', N'DATETIME2(3)', N'fecha', NULL, 0),
    (N'Liderazgo', N'RenovadoUtc', N'DATETIME2(3)', N'fecha', NULL, 0),
    (N'Liderazgo', N'ExpiraUtc', N'DATETIME2(3)', N'fecha', NULL, 0),
    (N'Mantenimiento', N'Tarea', N'NVARCHAR(50)', N'clave', 20, 0),
    (N'Mantenimiento', N'UltimaEjecucionCompleta', N'DATE', N'fecha', NULL, 0),
    (N'Mantenimiento', N'FechaActualizacion', N'DATETIME2(3)', N'fecha', NULL, 0),
    (N'EstadoServicios', N'Servicio', N'NVARCHAR(20)', N'clave', 11, 0),
    (N'EstadoServicios', N'Host', N'NVARCHAR(255)', N'clave', 63, 0),
    (N'EstadoServicios', N'Pid', N'INT', N'entero', NULL, 0),
    (N'EstadoServicios', N'Version', N'NVARCHAR(50)', N'texto', 20, 0),
    (N'EstadoServicios', N'Rol', N'NVARCHAR(10)', N'texto', 6, 0),
    (N'EstadoServicios', N'Inicio', N'DATETIME2(3)', N'fecha', NULL, 0),
    (N'EstadoServicios', N'UltimoLatido', N'DATETIME2(3)', N'fecha', NULL, 0),
    (N'EstadoServicios', N'UltimoCicloOk', N'DATETIME2(3)', N'fecha', NULL, 0),
    (N'EstadoServicios', N'UltimoError', N'NVARCHAR(4000)', N'cualquiera', NULL, 0),
    (N'ConfiguracionSistema', N'Clave', N'NVARCHAR(100)', N'clave', 38, 0),
    (N'ConfiguracionSistema', N'Valor', N'NVARCHAR(MAX)', N'cualquiera', NULL, 0),
    (N'ConfiguracionSistema', N'Descripcion', N'NVARCHAR(500)', N'cualquiera', NULL, 0),
    (N'ConfiguracionSistema', N'FechaActualizacion', N'DATETIME2(3)', N'fecha', NULL, 0),
    (N'ConfiguracionSistema', N'ActualizadoPor', N'NVARCHAR(100)', N'cualquiera', NULL, 0),
    (N'Auditoria', N'AuditoriaId', N'INT', N'identidad', NULL, 0),
    (N'Auditoria', N'Fecha', N'DATETIME2(3)', N'fecha', NULL, 0),
    (N'Auditoria', N'Usuario', N'NVARCHAR(128)', N'cualquiera', NULL, 0),
    (N'Auditoria', N'Rol', N'NVARCHAR(20)', N'cualquiera', NULL, 0),
    (N'Auditoria', N'Ip', N'NVARCHAR(45)', N'cualquiera', NULL, 0),
    (N'Auditoria', N'Accion', N'NVARCHAR(50)', N'cualquiera', NULL, 0),
    (N'Auditoria', N'Entidad', N'NVARCHAR(50)', N'clave', 14, 0),
    (N'Auditoria', N'EntidadId', N'NVARCHAR(100)', N'clave', 10, 0),
    (N'Auditoria', N'Antes', N'NVARCHAR(MAX)', N'cualquiera', NULL, 0),
    (N'Auditoria', N'Despues', N'NVARCHAR(MAX)', N'cualquiera', NULL, 0),
    (N'Auditoria', N'Resultado', N'NVARCHAR(20)', N'cualquiera', NULL, 0),
    (N'Auditoria', N'IdFormulario', N'NVARCHAR(64)', N'clave', 64, 1),
    (N'UsuariosConsola', N'UsuarioId', N'INT', N'identidad', NULL, 0),
    (N'UsuariosConsola', N'Usuario', N'NVARCHAR(128)', N'cualquiera', NULL, 0),
    (N'UsuariosConsola', N'Nombre', N'NVARCHAR(200)', N'cualquiera', NULL, 0),
    (N'UsuariosConsola', N'HashClave', N'NVARCHAR(400)', N'cualquiera', NULL, 0),
    (N'UsuariosConsola', N'Rol', N'NVARCHAR(20)', N'cualquiera', NULL, 0),
    (N'UsuariosConsola', N'Activo', N'BIT', N'bit', NULL, 0),
    (N'UsuariosConsola', N'FechaAlta', N'DATETIME2(3)', N'fecha', NULL, 0),
    (N'UsuariosConsola', N'UltimoAcceso', N'DATETIME2(3)', N'fecha', NULL, 0),
    (N'UsuariosConsola', N'IntentosFallidos', N'INT', N'entero', NULL, 0),
    (N'UsuariosConsola', N'BloqueadoHasta', N'DATETIME2(3)', N'fecha', NULL, 0),
    (N'UsuariosConsola', N'FechaActualizacion', N'DATETIME2(3)', N'fecha', NULL, 0),
    (N'UsuariosConsola', N'VersionSesion', N'INT', N'entero', NULL, 1),
    (N'SolicitudesServicio', N'SolicitudId', N'INT', N'identidad', NULL, 0),
    (N'SolicitudesServicio', N'Servicio', N'NVARCHAR(20)', N'clave', 11, 0),
    (N'SolicitudesServicio', N'Tipo', N'NVARCHAR(20)', N'cualquiera', NULL, 0),
    (N'SolicitudesServicio', N'SolicitadoPor', N'NVARCHAR(128)', N'cualquiera', NULL, 0),
    (N'SolicitudesServicio', N'Fecha', N'DATETIME2(3)', N'fecha', NULL, 0),
    (N'SolicitudesServicio', N'AtendidaEn', N'DATETIME2(3)', N'fecha', NULL, 0),
    (N'SolicitudesServicio', N'AtendidaPor', N'NVARCHAR(300)', N'cualquiera', NULL, 0),
    (N'SolicitudesServicio', N'Resultado', N'NVARCHAR(4000)', N'cualquiera', NULL, 0),
    (N'SolicitudesServicio', N'Estado', N'NVARCHAR(20)', N'clave', 9, 0);


-- Required columns missing from an existing table.
INSERT INTO @Fallos (Tabla, Columna, Actual, Motivo, TipoSAM, LongitudMinima, AdmiteNulos)
SELECT x.Tabla, x.Columna, N'no existe', N'falta', x.TipoSAM, x.LongitudMinima, 1
FROM @Esperadas AS x
WHERE x.LaAnadeSAM = 0
  AND OBJECT_ID(N'dbo.' + x.Tabla, N'U') IS NOT NULL
  AND COL_LENGTH(N'dbo.' + x.Tabla, x.Columna) IS NULL;

-- Existing columns of an incompatible type (first broken rule of each column).
INSERT INTO @Fallos (Tabla, Columna, Actual, Motivo, TipoSAM, LongitudMinima, AdmiteNulos)
SELECT v.Tabla, v.Columna, v.Actual, v.Motivo, v.TipoSAM, v.LongitudMinima, v.AdmiteNulos
FROM (
    SELECT
        x.Tabla,
        x.Columna,
        x.TipoSAM,
        x.LongitudMinima,
        c.is_nullable AS AdmiteNulos,
        CONCAT(
            UPPER(TYPE_NAME(c.system_type_id)),
            CASE
                WHEN TYPE_NAME(c.system_type_id) NOT IN (N'char', N'varchar', N'nchar', N'nvarchar') THEN N''
                WHEN c.max_length = -1 THEN N'(MAX)'
                WHEN TYPE_NAME(c.system_type_id) IN (N'nchar', N'nvarchar') THEN CONCAT(N'(', c.max_length / 2, N')')
                ELSE CONCAT(N'(', c.max_length, N')')
            END,
            CASE WHEN c.is_identity = 1 THEN N' IDENTITY' ELSE N'' END
        ) AS Actual,
        CASE
            WHEN x.Regla IN (N'entero', N'identidad') AND TYPE_NAME(c.system_type_id) <> N'int' THEN N'entero'
            WHEN x.Regla = N'identidad' AND c.is_identity = 0 THEN N'identidad'
            WHEN x.Regla IN (N'clave', N'texto')
                 AND TYPE_NAME(c.system_type_id) NOT IN (N'char', N'varchar', N'nchar', N'nvarchar') THEN N'texto'
            WHEN x.Regla = N'clave' AND c.max_length = -1 THEN N'max'
            WHEN x.LongitudMinima IS NOT NULL AND c.max_length <> -1
                 AND CASE WHEN TYPE_NAME(c.system_type_id) IN (N'nchar', N'nvarchar') THEN c.max_length / 2
                          ELSE c.max_length END < x.LongitudMinima THEN N'corta'
            WHEN x.Regla = N'fecha'
                 AND TYPE_NAME(c.system_type_id) NOT IN (N'date', N'datetime', N'datetime2', N'smalldatetime')
                THEN N'fecha'
            WHEN x.Regla = N'datetime2' AND TYPE_NAME(c.system_type_id) <> N'datetime2' THEN N'datetime2'
            WHEN x.Regla = N'hora' AND TYPE_NAME(c.system_type_id) <> N'time' THEN N'hora'
            WHEN x.Regla = N'bit' AND TYPE_NAME(c.system_type_id) <> N'bit' THEN N'bit'
        END AS Motivo
    FROM @Esperadas AS x
    INNER JOIN sys.columns AS c
        ON c.object_id = OBJECT_ID(N'dbo.' + x.Tabla, N'U') AND c.name = x.Columna
) AS v
WHERE v.Motivo IS NOT NULL;

-- Nullable columns of the primary key PK_Asignaciones that the script is going to add.
INSERT INTO @Fallos (Tabla, Columna, Actual, Motivo, TipoSAM, LongitudMinima, AdmiteNulos)
SELECT N'Asignaciones', c.name, CONCAT(UPPER(TYPE_NAME(c.system_type_id)), N' NULL'), N'nulos', N'INT', NULL, 1
FROM sys.columns AS c
WHERE c.object_id = OBJECT_ID(N'dbo.Asignaciones', N'U')
  AND c.name IN (N'RobotId', N'EquipoId')
  AND c.is_nullable = 1
  AND NOT EXISTS (
      SELECT 1 FROM sys.key_constraints AS k
      WHERE k.parent_object_id = c.object_id AND k.type = 'PK'
  );

SELECT @Total = COUNT(*) FROM @Fallos;
WHILE @i <= @Total
BEGIN
    SELECT
        @Tabla = f.Tabla,
        @Columna = f.Columna,
        @Actual = f.Actual,
        @Motivo = f.Motivo,
        @TipoSAM = f.TipoSAM,
        @LongitudMinima = f.LongitudMinima,
        @AdmiteNulos = f.AdmiteNulos
    FROM @Fallos AS f
    WHERE f.N = @i;
    SET @Arreglo = CONCAT(
        N'ALTER TABLE dbo.', @Tabla, N' ALTER COLUMN ', @Columna, N' ', @TipoSAM,
        CASE WHEN @AdmiteNulos = 1 THEN N' NULL;' ELSE N' NOT NULL;' END
    );
    SET @MensajeLinea = CONCAT(
        N'- dbo.', @Tabla, N'.', @Columna, N' (', @Actual, N'): ',
        CASE @Motivo
            WHEN N'falta' THEN CONCAT(
                N'SAM la usa. Añádala (ALTER TABLE dbo.', @Tabla, N' ADD ', @Columna, N' ', @TipoSAM,
                N' NULL;) o renombre la columna equivalente (EXEC sp_rename N''dbo.', @Tabla,
                N'.<columna>'', N''', @Columna, N''', N''COLUMN'';).'
            )
            WHEN N'entero' THEN CONCAT(
                N'debe ser INT (identificador de SAM/A360; las claves foráneas exigen el mismo tipo en '
                + N'las dos tablas). ', @Arreglo
            )
            WHEN N'identidad' THEN
                N'debe ser INT IDENTITY (SAM inserta filas sin darle valor). IDENTITY no se añade con '
                + N'ALTER COLUMN: copie los datos a una tabla nueva con la columna IDENTITY.'
            WHEN N'texto' THEN CONCAT(
                N'debe ser NVARCHAR: TEXT/NTEXT y los tipos no de texto no admiten las comparaciones '
                + N'ni los índices de SAM. ', @Arreglo
            )
            WHEN N'max' THEN CONCAT(
                N'es clave de un índice de SAM y no puede ser (N)VARCHAR(MAX) (error 1919). ', @Arreglo
            )
            WHEN N'corta' THEN CONCAT(
                N'admite menos de ', @LongitudMinima, N' caracteres y SAM escribe valores de esa longitud. ',
                @Arreglo
            )
            WHEN N'fecha' THEN CONCAT(
                N'debe ser de fecha/hora (DATETIME2, DATETIME o DATE): SAM la compara con fechas. ', @Arreglo
            )
            WHEN N'datetime2' THEN CONCAT(
                N'debe ser DATETIME2: SAM la compara por igualdad con un DATETIME2(3). ', @Arreglo
            )
            WHEN N'hora' THEN CONCAT(N'debe ser TIME. ', @Arreglo)
            WHEN N'bit' THEN CONCAT(N'debe ser BIT. ', @Arreglo)
            WHEN N'nulos' THEN CONCAT(
                N'admite NULL y va a formar la clave primaria PK_Asignaciones (error 8111). Borre las '
                + N'filas con NULL (DELETE FROM dbo.Asignaciones WHERE ', @Columna, N' IS NULL;) y ejecute ',
                N'ALTER TABLE dbo.Asignaciones ALTER COLUMN ', @Columna, N' INT NOT NULL;'
            )
        END
    );
    IF LEN(@Mensaje) + LEN(@MensajeLinea) < 1500  -- RAISERROR shows up to 2047 characters
        SET @Mensaje = CONCAT(@Mensaje, NCHAR(13), NCHAR(10), @MensajeLinea);
    ELSE
    BEGIN
        PRINT @MensajeLinea;
        SET @Omitidas = @Omitidas + 1;
    END;
    SET @i = @i + 1;
END;

IF @Omitidas > 0
    SET @Mensaje = CONCAT(@Mensaje, NCHAR(13), NCHAR(10), N'- ... y ', @Omitidas, N' más, listadas antes de este error.');
IF @Total > 0
BEGIN
    SET @Mensaje = CONCAT(
        N'SAM.sql no puede actualizar las tablas existentes: ', @Total, N' columnas incompatibles ',
        N'con el esquema SAM (no se ha cambiado nada).', @Mensaje, NCHAR(13), NCHAR(10),
        N'Corrija cada columna (si tiene índices o restricciones, elimínelos antes; SAM.sql crea de nuevo ',
        N'los suyos) y ejecute SAM.sql de nuevo. Tipos actuales: SELECT TABLE_NAME, COLUMN_NAME, ',
        N'DATA_TYPE, CHARACTER_MAXIMUM_LENGTH, IS_NULLABLE FROM INFORMATION_SCHEMA.COLUMNS ',
        N'WHERE TABLE_SCHEMA = N''dbo'' ORDER BY TABLE_NAME, ORDINAL_POSITION;'
    );
    SET @Mensaje = REPLACE(@Mensaje, N'%', N'%%');
    RAISERROR(@Mensaje, 16, 1);
    SET NOEXEC ON;
END;
GO

-- 2. dbo.Ejecuciones gains EjecucionId INT IDENTITY: a table has at most one identity column
--    (Msg 2744), so an identity column under another name must be renamed or dropped first.
DECLARE @Mensaje NVARCHAR(2048);
DECLARE @Columna NVARCHAR(128);
DECLARE @Tipo NVARCHAR(128);
IF OBJECT_ID(N'dbo.Ejecuciones', N'U') IS NOT NULL AND COL_LENGTH(N'dbo.Ejecuciones', N'EjecucionId') IS NULL
BEGIN
    SELECT TOP (1) @Columna = ic.name, @Tipo = UPPER(TYPE_NAME(ic.system_type_id))
    FROM sys.identity_columns AS ic
    WHERE ic.object_id = OBJECT_ID(N'dbo.Ejecuciones', N'U');
    IF @Columna IS NOT NULL
    BEGIN
        SET @Mensaje = CONCAT(
            N'dbo.Ejecuciones ya tiene la columna IDENTITY ', QUOTENAME(@Columna), N' (', @Tipo, N') y SAM.sql ',
            N'tiene que añadir EjecucionId INT IDENTITY: una tabla sólo admite una columna IDENTITY (error 2744). ',
            N'Si ', QUOTENAME(@Columna), N' es INT y numera las ejecuciones, renómbrela: EXEC sp_rename ',
            N'N''dbo.Ejecuciones.', @Columna, N''', N''EjecucionId'', N''COLUMN''; si no, cópiela a una ',
            N'columna sin IDENTITY y elimínela. Después ejecute SAM.sql de nuevo (no se ha cambiado nada).'
        );
        SET @Mensaje = REPLACE(@Mensaje, N'%', N'%%');
        RAISERROR(@Mensaje, 16, 1);
        SET NOEXEC ON;
    END;
END;
GO

-- 3. PK_Ejecuciones / PK_Asignaciones are added as PRIMARY KEY CLUSTERED: a table that already
--    has a clustered index (not a primary key) makes that fail (Msg 1902).
DECLARE @Mensaje NVARCHAR(2048) = N'';
DECLARE @Indice NVARCHAR(128);
DECLARE @EsRestriccion BIT;
DECLARE @Tabla NVARCHAR(128) = N'Ejecuciones';
WHILE @Tabla IS NOT NULL
BEGIN
    SET @Indice = NULL;
    IF NOT EXISTS (
        SELECT 1 FROM sys.key_constraints AS k
        WHERE k.parent_object_id = OBJECT_ID(N'dbo.' + @Tabla, N'U') AND k.type = 'PK'
    )
        SELECT TOP (1) @Indice = i.name, @EsRestriccion = i.is_unique_constraint
        FROM sys.indexes AS i
        WHERE i.object_id = OBJECT_ID(N'dbo.' + @Tabla, N'U') AND i.type IN (1, 5);
    IF @Indice IS NOT NULL
        SET @Mensaje = CONCAT(
            @Mensaje, NCHAR(13), NCHAR(10), N'- dbo.', @Tabla, N' tiene el índice agrupado ', QUOTENAME(@Indice),
            N' y SAM.sql tiene que añadir la clave primaria agrupada PK_', @Tabla, N' (error 1902). Elimínelo: ',
            CASE WHEN @EsRestriccion = 1
                THEN CONCAT(N'ALTER TABLE dbo.', @Tabla, N' DROP CONSTRAINT ', QUOTENAME(@Indice), N';')
                ELSE CONCAT(N'DROP INDEX ', QUOTENAME(@Indice), N' ON dbo.', @Tabla, N';')
            END,
            N' (si lo necesita, vuelva a crearlo como NONCLUSTERED).'
        );
    SET @Tabla = CASE @Tabla WHEN N'Ejecuciones' THEN N'Asignaciones' END;
END;
IF @Mensaje <> N''
BEGIN
    SET @Mensaje = CONCAT(
        N'SAM.sql no puede añadir las claves primarias (no se ha cambiado nada):', @Mensaje,
        NCHAR(13), NCHAR(10), N'Después ejecute SAM.sql de nuevo.'
    );
    SET @Mensaje = REPLACE(@Mensaje, N'%', N'%%');
    RAISERROR(@Mensaje, 16, 1);
    SET NOEXEC ON;
END;
GO

-- 4. PK_Asignaciones (RobotId, EquipoId): duplicate pairs make it fail (Msg 1505).
DECLARE @Mensaje NVARCHAR(2048);
DECLARE @Pares INT;
DECLARE @Filas INT;
IF OBJECT_ID(N'dbo.Asignaciones', N'U') IS NOT NULL
   AND NOT EXISTS (
       SELECT 1 FROM sys.key_constraints AS k
       WHERE k.parent_object_id = OBJECT_ID(N'dbo.Asignaciones', N'U') AND k.type = 'PK'
   )
BEGIN
    SELECT @Pares = COUNT(*), @Filas = ISNULL(SUM(d.Filas), 0)
    FROM (
        SELECT a.RobotId, a.EquipoId, COUNT(*) AS Filas
        FROM dbo.Asignaciones AS a
        GROUP BY a.RobotId, a.EquipoId
        HAVING COUNT(*) > 1
    ) AS d;
    IF @Pares > 0
    BEGIN
        SET @Mensaje = CONCAT(
            N'dbo.Asignaciones tiene ', @Pares, N' pares (RobotId, EquipoId) repetidos (', @Filas, N' filas) y ',
            N'SAM.sql tiene que añadir la clave primaria PK_Asignaciones (RobotId, EquipoId). Véalos con: ',
            N'SELECT RobotId, EquipoId, COUNT(*) AS Filas FROM dbo.Asignaciones GROUP BY RobotId, EquipoId ',
            N'HAVING COUNT(*) > 1; deje una sola fila por par y ejecute SAM.sql de nuevo (no se ha cambiado nada).'
        );
        SET @Mensaje = REPLACE(@Mensaje, N'%', N'%%');
        RAISERROR(@Mensaje, 16, 1);
        SET NOEXEC ON;
    END;
END;
GO

-- 5. UX_Ejecuciones_DeploymentId (unique, filtered on DeploymentId IS NOT NULL): blank values
--    are not excluded by the filter, so they become NULL first (a blank DeploymentId identifies
--    nothing); then duplicates of a non-null DeploymentId make the index fail (Msg 1505).
DECLARE @Mensaje NVARCHAR(2048);
DECLARE @Filas INT;
DECLARE @Valores INT;
IF OBJECT_ID(N'dbo.Ejecuciones', N'U') IS NOT NULL
BEGIN
    UPDATE dbo.Ejecuciones
    SET DeploymentId = NULL
    WHERE LTRIM(RTRIM(DeploymentId)) = N'';
    SET @Filas = @@ROWCOUNT;
    IF @Filas > 0
        PRINT CONCAT(N'dbo.Ejecuciones: ', @Filas, N' filas con DeploymentId vacío pasan a DeploymentId = NULL.');

    IF NOT EXISTS (
        SELECT 1 FROM sys.indexes AS i
        WHERE i.name = N'UX_Ejecuciones_DeploymentId' AND i.object_id = OBJECT_ID(N'dbo.Ejecuciones', N'U')
    )
    BEGIN
        SELECT @Valores = COUNT(*), @Filas = ISNULL(SUM(d.Filas), 0)
        FROM (
            SELECT e.DeploymentId, COUNT(*) AS Filas
            FROM dbo.Ejecuciones AS e
            WHERE e.DeploymentId IS NOT NULL
            GROUP BY e.DeploymentId
            HAVING COUNT(*) > 1
        ) AS d;
        IF @Valores > 0
        BEGIN
            SET @Mensaje = CONCAT(
                N'dbo.Ejecuciones tiene ', @Valores, N' valores de DeploymentId repetidos (', @Filas, N' filas) ',
                N'y SAM.sql tiene que crear el índice único UX_Ejecuciones_DeploymentId. Véalos con: ',
                N'SELECT e.* FROM dbo.Ejecuciones AS e WHERE e.DeploymentId IN (SELECT DeploymentId FROM ',
                N'dbo.Ejecuciones WHERE DeploymentId IS NOT NULL GROUP BY DeploymentId HAVING COUNT(*) > 1) ',
                N'ORDER BY e.DeploymentId, e.FechaInicio; conserve una fila por DeploymentId (la más reciente) ',
                N'y borre las demás o ponga en ellas DeploymentId = NULL. Después ejecute SAM.sql de nuevo.'
            );
            SET @Mensaje = REPLACE(@Mensaje, N'%', N'%%');
            RAISERROR(@Mensaje, 16, 1);
            SET NOEXEC ON;
        END;
    END;
END;
GO

-- 6. The four WITH CHECK foreign keys: orphan rows make them fail (Msg 547), and the referenced
--    column needs a primary key or unique index (Msg 1776). Dynamic SQL: Asignaciones.ProgramacionId
--    may not exist yet, and a referenced table that does not exist yet will be created empty.
DECLARE @Claves TABLE (
    N INT IDENTITY (1, 1) NOT NULL,
    Restriccion NVARCHAR(128) COLLATE DATABASE_DEFAULT NOT NULL,
    Hija NVARCHAR(128) COLLATE DATABASE_DEFAULT NOT NULL,
    Columna NVARCHAR(128) COLLATE DATABASE_DEFAULT NOT NULL,
    Padre NVARCHAR(128) COLLATE DATABASE_DEFAULT NOT NULL
);
DECLARE @Mensaje NVARCHAR(MAX) = N'';
DECLARE @i INT = 1;
DECLARE @Total INT;
DECLARE @Restriccion NVARCHAR(128);
DECLARE @Hija NVARCHAR(128);
DECLARE @Columna NVARCHAR(128);
DECLARE @Padre NVARCHAR(128);
DECLARE @Condicion NVARCHAR(1000);
DECLARE @Sql NVARCHAR(MAX);
DECLARE @Filas INT;

INSERT INTO @Claves (Restriccion, Hija, Columna, Padre)
VALUES
    (N'FK_Asignaciones_Robots', N'Asignaciones', N'RobotId', N'Robots'),
    (N'FK_Asignaciones_Equipos', N'Asignaciones', N'EquipoId', N'Equipos'),
    (N'FK_Asignaciones_Programaciones', N'Asignaciones', N'ProgramacionId', N'Programaciones'),
    (N'FK_Programaciones_Robots', N'Programaciones', N'RobotId', N'Robots');

SELECT @Total = COUNT(*) FROM @Claves;
WHILE @i <= @Total
BEGIN
    SELECT @Restriccion = c.Restriccion, @Hija = c.Hija, @Columna = c.Columna, @Padre = c.Padre
    FROM @Claves AS c
    WHERE c.N = @i;
    SET @i = @i + 1;
    IF OBJECT_ID(N'dbo.' + @Restriccion, N'F') IS NOT NULL
       OR OBJECT_ID(N'dbo.' + @Hija, N'U') IS NULL
       OR COL_LENGTH(N'dbo.' + @Hija, @Columna) IS NULL
        CONTINUE;

    IF OBJECT_ID(N'dbo.' + @Padre, N'U') IS NOT NULL
       AND NOT EXISTS (
           SELECT 1
           FROM sys.indexes AS x
           INNER JOIN sys.index_columns AS k ON k.object_id = x.object_id AND k.index_id = x.index_id
           INNER JOIN sys.columns AS col ON col.object_id = k.object_id AND col.column_id = k.column_id
           WHERE x.object_id = OBJECT_ID(N'dbo.' + @Padre, N'U')
             AND x.is_unique = 1
             AND x.has_filter = 0
             AND k.key_ordinal = 1
             AND col.name = @Columna
             AND NOT EXISTS (
                 SELECT 1 FROM sys.index_columns AS k2
                 WHERE k2.object_id = x.object_id AND k2.index_id = x.index_id AND k2.key_ordinal > 1
             )
       )
    BEGIN
        SET @Mensaje = CONCAT(
            @Mensaje, NCHAR(13), NCHAR(10), N'- ', @Restriccion, N': dbo.', @Padre, N'.', @Columna,
            N' no tiene clave primaria ni índice único (error 1776). Ejecute: ALTER TABLE dbo.', @Padre,
            N' ADD CONSTRAINT PK_', @Padre, N' PRIMARY KEY CLUSTERED (', @Columna, N');'
        );
        CONTINUE;
    END;

    SET @Condicion = CONCAT(N'h.', QUOTENAME(@Columna), N' IS NOT NULL');
    IF OBJECT_ID(N'dbo.' + @Padre, N'U') IS NOT NULL
        SET @Condicion = CONCAT(
            @Condicion, N' AND NOT EXISTS (SELECT 1 FROM dbo.', QUOTENAME(@Padre), N' AS p WHERE p.',
            QUOTENAME(@Columna), N' = h.', QUOTENAME(@Columna), N')'
        );
    SET @Sql = CONCAT(N'SELECT @Filas = COUNT(*) FROM dbo.', QUOTENAME(@Hija), N' AS h WHERE ', @Condicion, N';');
    EXEC sys.sp_executesql @Sql, N'@Filas INT OUTPUT', @Filas = @Filas OUTPUT;
    IF @Filas > 0
        SET @Mensaje = CONCAT(
            @Mensaje, NCHAR(13), NCHAR(10), N'- ', @Restriccion, N': ', @Filas, N' filas de dbo.', @Hija,
            N' con un ', @Columna, N' que no existe en dbo.', @Padre, N'. Véalas con: SELECT h.* FROM dbo.',
            @Hija, N' AS h WHERE ', @Condicion, N'; dé de alta lo que falta en dbo.', @Padre, N' o ',
            CASE WHEN @Columna = N'ProgramacionId'
                THEN CONCAT(N'ponga ', @Columna, N' = NULL en esas filas')
                ELSE N'borre esas filas'
            END,
            N'.'
        );
END;

IF @Mensaje <> N''
BEGIN
    SET @Mensaje = CONCAT(
        N'SAM.sql no puede añadir las claves foráneas:', @Mensaje,
        NCHAR(13), NCHAR(10), N'Después ejecute SAM.sql de nuevo.'
    );
    SET @Mensaje = REPLACE(@Mensaje, N'%', N'%%');
    RAISERROR(@Mensaje, 16, 1);
    SET NOEXEC ON;
END;
GO

-- 7. Warning only: the Lanzador compares UPPER(TipoProgramacion) with DIARIA, SEMANAL, MENSUAL,
--    ESPECIFICA and RANGOMENSUAL, so another value (for instance 'Específica' with its accent) never launches.
DECLARE @Mensaje NVARCHAR(2048);
DECLARE @Filas INT;
IF OBJECT_ID(N'dbo.Programaciones', N'U') IS NOT NULL
BEGIN
    SELECT @Filas = COUNT(*)
    FROM dbo.Programaciones AS p
    WHERE p.TipoProgramacion IS NULL
       OR UPPER(p.TipoProgramacion) COLLATE Latin1_General_BIN2
          NOT IN (N'DIARIA', N'SEMANAL', N'MENSUAL', N'ESPECIFICA', N'RANGOMENSUAL');
    IF @Filas > 0
    BEGIN
        SET @Mensaje = CONCAT(
            N'AVISO: dbo.Programaciones tiene ', @Filas, N' filas con un TipoProgramacion distinto de ',
            N'Diaria, Semanal, Mensual, Especifica (sin tilde) o RangoMensual: el Lanzador nunca las lanza. Véalas con: ',
            N'SELECT p.* FROM dbo.Programaciones AS p WHERE p.TipoProgramacion IS NULL OR ',
            N'UPPER(p.TipoProgramacion) COLLATE Latin1_General_BIN2 NOT IN (N''DIARIA'', N''SEMANAL'', ',
            N'N''MENSUAL'', N''ESPECIFICA'', N''RANGOMENSUAL''); y corrija el valor (p. ej. UPDATE dbo.Programaciones SET ',
            N'TipoProgramacion = N''Especifica'' WHERE ProgramacionId = <id>;).'
        );
        PRINT @Mensaje;
    END;
END;
GO

-- ---------------------------------------------------------------------------------------------
-- Tablas
-- ---------------------------------------------------------------------------------------------

-- Pools (BEHAVIOUR §12 B11): a robot and an equipo with the same PoolId work together; NULL = the
-- general pool. An inactive pool's equipos and robots are not balanced.
IF OBJECT_ID(N'dbo.Pools', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.Pools (
        PoolId INT IDENTITY (1, 1) NOT NULL,
        Nombre NVARCHAR(100) NOT NULL,
        Descripcion NVARCHAR(4000) NULL,
        Activo BIT NOT NULL CONSTRAINT DF_Pools_Activo DEFAULT (1),
        FechaActualizacion DATETIME2(3) NOT NULL CONSTRAINT DF_Pools_FechaActualizacion DEFAULT (GETDATE()),
        CONSTRAINT PK_Pools PRIMARY KEY CLUSTERED (PoolId)
    );
END;
GO

IF OBJECT_ID(N'dbo.Robots', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.Robots (
        RobotId INT NOT NULL,
        Robot NVARCHAR(100) NOT NULL,
        Descripcion NVARCHAR(4000) NULL,
        Parametros NVARCHAR(MAX) NULL,
        EsOnline BIT NOT NULL CONSTRAINT DF_Robots_EsOnline DEFAULT (0),
        Activo BIT NOT NULL CONSTRAINT DF_Robots_Activo DEFAULT (1),
        MinEquipos INT NOT NULL CONSTRAINT DF_Robots_MinEquipos DEFAULT (1),
        MaxEquipos INT NOT NULL CONSTRAINT DF_Robots_MaxEquipos DEFAULT (-1),
        PrioridadBalanceo INT NOT NULL CONSTRAINT DF_Robots_PrioridadBalanceo DEFAULT (100),
        TicketsPorEquipoAdicional INT NULL,
        ExisteEnA360 BIT NOT NULL CONSTRAINT DF_Robots_ExisteEnA360 DEFAULT (1),
        FechaSincronizacion DATETIME2(3) NULL,
        PoolId INT NULL,
        FechaActualizacion DATETIME2(3) NOT NULL CONSTRAINT DF_Robots_FechaActualizacion DEFAULT (GETDATE()),
        CONSTRAINT PK_Robots PRIMARY KEY CLUSTERED (RobotId),
        CONSTRAINT FK_Robots_Pools FOREIGN KEY (PoolId) REFERENCES dbo.Pools (PoolId)
    );
END;
GO

IF OBJECT_ID(N'dbo.Equipos', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.Equipos (
        EquipoId INT NOT NULL,
        Equipo NVARCHAR(100) NOT NULL,
        UserId INT NULL,
        UserName NVARCHAR(100) NULL,
        Licencia NVARCHAR(50) NULL,
        Activo_SAM BIT NOT NULL CONSTRAINT DF_Equipos_Activo_SAM DEFAULT (1),
        EstadoBalanceador NVARCHAR(50) NULL,
        PermiteBalanceoDinamico BIT NOT NULL CONSTRAINT DF_Equipos_PermiteBalanceoDinamico DEFAULT (1),
        EstadoA360 NVARCHAR(50) NULL,
        UsuarioActivoA360 BIT NOT NULL CONSTRAINT DF_Equipos_UsuarioActivoA360 DEFAULT (1),
        FechaSincronizacion DATETIME2(3) NULL,
        PoolId INT NULL,
        FechaActualizacion DATETIME2(3) NOT NULL CONSTRAINT DF_Equipos_FechaActualizacion DEFAULT (GETDATE()),
        CONSTRAINT PK_Equipos PRIMARY KEY CLUSTERED (EquipoId),
        CONSTRAINT FK_Equipos_Pools FOREIGN KEY (PoolId) REFERENCES dbo.Pools (PoolId)
    );
END;
GO

-- Programaciones: EsCiclico .. UltimosDiasMes are L7's cyclic windows, monthly ranges and date
-- windows (common/programacion.py says which combinations are valid; the Lanzador skips the rest).
IF OBJECT_ID(N'dbo.Programaciones', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.Programaciones (
        ProgramacionId INT IDENTITY (1, 1) NOT NULL,
        RobotId INT NOT NULL,
        TipoProgramacion NVARCHAR(20) NOT NULL,
        HoraInicio TIME(0) NOT NULL,
        DiaSemana NVARCHAR(50) NULL,
        DiaDelMes INT NULL,
        FechaEspecifica DATE NULL,
        Tolerancia INT NULL CONSTRAINT DF_Programaciones_Tolerancia DEFAULT (60),
        Activo BIT NOT NULL CONSTRAINT DF_Programaciones_Activo DEFAULT (1),
        EsCiclico BIT NOT NULL CONSTRAINT DF_Programaciones_EsCiclico DEFAULT (0),
        HoraFin TIME(0) NULL,
        FechaInicioVentana DATE NULL,
        FechaFinVentana DATE NULL,
        IntervaloEntreEjecuciones INT NULL,
        DiaInicioMes INT NULL,
        DiaFinMes INT NULL,
        UltimosDiasMes INT NULL,
        FechaActualizacion DATETIME2(3) NOT NULL CONSTRAINT DF_Programaciones_FechaActualizacion DEFAULT (GETDATE()),
        CONSTRAINT PK_Programaciones PRIMARY KEY CLUSTERED (ProgramacionId),
        CONSTRAINT FK_Programaciones_Robots FOREIGN KEY (RobotId) REFERENCES dbo.Robots (RobotId),
        -- UPPER: the same answer under a case-sensitive database collation (the selection compares so).
        CONSTRAINT CK_Programaciones_Tipo
        CHECK (UPPER(TipoProgramacion) IN (N'DIARIA', N'SEMANAL', N'MENSUAL', N'ESPECIFICA', N'RANGOMENSUAL'))
    );
END;
GO

IF OBJECT_ID(N'dbo.Asignaciones', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.Asignaciones (
        RobotId INT NOT NULL,
        EquipoId INT NOT NULL,
        EsProgramado BIT NOT NULL CONSTRAINT DF_Asignaciones_EsProgramado DEFAULT (0),
        Reservado BIT NOT NULL CONSTRAINT DF_Asignaciones_Reservado DEFAULT (0),
        FechaAsignacion DATETIME2(3) NOT NULL CONSTRAINT DF_Asignaciones_FechaAsignacion DEFAULT (GETDATE()),
        AsignadoPor NVARCHAR(50) NOT NULL CONSTRAINT DF_Asignaciones_AsignadoPor DEFAULT (N'Manual'),
        ProgramacionId INT NULL,
        CONSTRAINT PK_Asignaciones PRIMARY KEY CLUSTERED (RobotId, EquipoId),
        CONSTRAINT FK_Asignaciones_Robots FOREIGN KEY (RobotId) REFERENCES dbo.Robots (RobotId),
        CONSTRAINT FK_Asignaciones_Equipos FOREIGN KEY (EquipoId) REFERENCES dbo.Equipos (EquipoId),
        CONSTRAINT FK_Asignaciones_Programaciones FOREIGN KEY (ProgramacionId)
        REFERENCES dbo.Programaciones (ProgramacionId)
    );
END;
GO

IF OBJECT_ID(N'dbo.Ejecuciones', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.Ejecuciones (
        EjecucionId INT IDENTITY (1, 1) NOT NULL,
        DeploymentId NVARCHAR(100) NULL,
        RobotId INT NOT NULL,
        EquipoId INT NOT NULL,
        UserId INT NULL,
        Hora TIME(0) NULL,
        FechaInicio DATETIME2(3) NULL,
        FechaFin DATETIME2(3) NULL,
        Estado NVARCHAR(50) NOT NULL,
        FechaActualizacion DATETIME2(3) NULL,
        CallbackInfo NVARCHAR(MAX) NULL,
        MensajeError NVARCHAR(4000) NULL,
        FechaSlot DATE NULL,
        RondasNoEncontrado INT NOT NULL CONSTRAINT DF_Ejecuciones_RondasNoEncontrado DEFAULT (0),
        AlertaDuracionEnviada BIT NOT NULL CONSTRAINT DF_Ejecuciones_AlertaDuracionEnviada DEFAULT (0),
        ClaveIntento NVARCHAR(36) NULL,
        FalloSinConfirmar BIT NOT NULL CONSTRAINT DF_Ejecuciones_FalloSinConfirmar DEFAULT (0),
        CONSTRAINT PK_Ejecuciones PRIMARY KEY CLUSTERED (EjecucionId)
    );
END;
GO

IF OBJECT_ID(N'dbo.HistoricoBalanceo', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.HistoricoBalanceo (
        HistoricoId INT IDENTITY (1, 1) NOT NULL,
        FechaBalanceo DATETIME2(3) NOT NULL CONSTRAINT DF_HistoricoBalanceo_FechaBalanceo DEFAULT (GETDATE()),
        RobotId INT NOT NULL,
        TicketsPendientes INT NULL,
        EquiposAsignadosAntes INT NULL,
        EquiposAsignadosDespues INT NULL,
        AccionTomada NVARCHAR(50) NULL,
        Justificacion NVARCHAR(1000) NULL,
        CodigoMotivo NVARCHAR(50) NULL,
        EquipoIds NVARCHAR(4000) NULL,
        PoolId INT NULL,
        CONSTRAINT PK_HistoricoBalanceo PRIMARY KEY CLUSTERED (HistoricoId)
    );
END;
GO

IF OBJECT_ID(N'dbo.ErrorLog', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.ErrorLog (
        ErrorLogId INT IDENTITY (1, 1) NOT NULL,
        FechaError DATETIME2(3) NOT NULL CONSTRAINT DF_ErrorLog_FechaError DEFAULT (GETDATE()),
        Usuario NVARCHAR(128) NULL,
        SPNombre NVARCHAR(128) NULL,
        ErrorMensaje NVARCHAR(4000) NULL,
        Parametros NVARCHAR(MAX) NULL,
        CONSTRAINT PK_ErrorLog PRIMARY KEY CLUSTERED (ErrorLogId)
    );
END;
GO

IF OBJECT_ID(N'dbo.CallbacksRecibidos', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.CallbacksRecibidos (
        CallbackId INT IDENTITY (1, 1) NOT NULL,
        DeploymentId NVARCHAR(100) NOT NULL,
        FechaRecepcion DATETIME2(3) NOT NULL CONSTRAINT DF_CallbacksRecibidos_FechaRecepcion DEFAULT (GETDATE()),
        Estado NVARCHAR(50) NULL,
        Payload NVARCHAR(MAX) NULL,
        Aplicado BIT NOT NULL CONSTRAINT DF_CallbacksRecibidos_Aplicado DEFAULT (0),
        CONSTRAINT PK_CallbacksRecibidos PRIMARY KEY CLUSTERED (CallbackId)
    );
END;
GO

-- Retención del historial (BEHAVIOUR §14 R2): las ejecuciones cerradas pasan aquí en lotes
-- (dbo.Mantenimiento_MoverAHistorico, o el trabajo diario del Lanzador). Mismas columnas y tipos
-- que dbo.Ejecuciones (EjecucionId se conserva: no es IDENTITY) más FechaMovimiento.
IF OBJECT_ID(N'dbo.Ejecuciones_Historico', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.Ejecuciones_Historico (
        EjecucionId INT NOT NULL,
        DeploymentId NVARCHAR(100) NULL,
        RobotId INT NOT NULL,
        EquipoId INT NOT NULL,
        UserId INT NULL,
        Hora TIME(0) NULL,
        FechaInicio DATETIME2(3) NULL,
        FechaFin DATETIME2(3) NULL,
        Estado NVARCHAR(50) NOT NULL,
        FechaActualizacion DATETIME2(3) NULL,
        CallbackInfo NVARCHAR(MAX) NULL,
        MensajeError NVARCHAR(4000) NULL,
        FechaSlot DATE NULL,
        RondasNoEncontrado INT NOT NULL CONSTRAINT DF_Ejecuciones_Historico_RondasNoEncontrado DEFAULT (0),
        AlertaDuracionEnviada BIT NOT NULL CONSTRAINT DF_Ejecuciones_Historico_AlertaDuracionEnviada DEFAULT (0),
        ClaveIntento NVARCHAR(36) NULL,
        FalloSinConfirmar BIT NOT NULL CONSTRAINT DF_Ejecuciones_Historico_FalloSinConfirmar DEFAULT (0),
        FechaMovimiento DATETIME2(3) NOT NULL,
        CONSTRAINT PK_Ejecuciones_Historico PRIMARY KEY CLUSTERED (EjecucionId)
    );
END;
GO
-- La purga del histórico busca por FechaFin; un callback tardío y las consultas, por DeploymentId.
IF NOT EXISTS (
    SELECT 1 FROM sys.indexes
    WHERE name = N'IX_Ejecuciones_Historico_FechaFin' AND object_id = OBJECT_ID(N'dbo.Ejecuciones_Historico')
)
CREATE NONCLUSTERED INDEX IX_Ejecuciones_Historico_FechaFin
ON dbo.Ejecuciones_Historico (FechaFin);
GO
IF NOT EXISTS (
    SELECT 1 FROM sys.indexes
    WHERE name = N'IX_Ejecuciones_Historico_DeploymentId' AND object_id = OBJECT_ID(N'dbo.Ejecuciones_Historico')
)
CREATE NONCLUSTERED INDEX IX_Ejecuciones_Historico_DeploymentId
ON dbo.Ejecuciones_Historico (DeploymentId);
GO
-- La consola busca las ejecuciones pasadas de un robot o de un equipo, de la más reciente hacia atrás.
IF NOT EXISTS (
    SELECT 1 FROM sys.indexes
    WHERE name = N'IX_Ejecuciones_Historico_Robot_Id' AND object_id = OBJECT_ID(N'dbo.Ejecuciones_Historico')
)
CREATE NONCLUSTERED INDEX IX_Ejecuciones_Historico_Robot_Id
ON dbo.Ejecuciones_Historico (RobotId, EjecucionId);
GO
IF NOT EXISTS (
    SELECT 1 FROM sys.indexes
    WHERE name = N'IX_Ejecuciones_Historico_Equipo_Id' AND object_id = OBJECT_ID(N'dbo.Ejecuciones_Historico')
)
CREATE NONCLUSTERED INDEX IX_Ejecuciones_Historico_Equipo_Id
ON dbo.Ejecuciones_Historico (EquipoId, EjecucionId);
GO

-- Mapeo de nombres (BEHAVIOUR §12 B14): el nombre con que una fuente de tickets (Proveedor = rpa360,
-- clouders) informa de un robot -> el robot de SAM. Se lee en cada ciclo del Balanceador.
IF OBJECT_ID(N'dbo.MapeoRobots', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.MapeoRobots (
        MapeoId INT IDENTITY (1, 1) NOT NULL,
        Proveedor NVARCHAR(50) NOT NULL,
        NombreExterno NVARCHAR(200) NOT NULL,
        RobotId INT NOT NULL,
        CONSTRAINT PK_MapeoRobots PRIMARY KEY CLUSTERED (MapeoId),
        CONSTRAINT FK_MapeoRobots_Robots FOREIGN KEY (RobotId) REFERENCES dbo.Robots (RobotId)
    );
END;
GO

-- Estado de los trabajos de mantenimiento: fecha de la última ejecución completa de cada uno.
IF OBJECT_ID(N'dbo.Mantenimiento', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.Mantenimiento (
        Tarea NVARCHAR(50) NOT NULL,
        UltimaEjecucionCompleta DATE NULL,
        FechaActualizacion DATETIME2(3) NULL,
        CONSTRAINT PK_Mantenimiento PRIMARY KEY CLUSTERED (Tarea)
    );
END;
GO

-- Latidos (BEHAVIOUR H5): una fila por proceso de SAM (Lanzador, Callback, Balanceador, consola),
-- escrita cada SAM_LATIDO_SEG; una fila cuyo UltimoLatido no avanza es un proceso que murió sin
-- detenerse (al detenerse limpiamente, cada proceso borra la suya).
IF OBJECT_ID(N'dbo.EstadoServicios', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.EstadoServicios (
        Servicio NVARCHAR(20) NOT NULL,
        Host NVARCHAR(255) NOT NULL,
        Pid INT NOT NULL,
        Version NVARCHAR(50) NOT NULL,
        Rol NVARCHAR(10) NOT NULL,
        Inicio DATETIME2(3) NOT NULL,
        UltimoLatido DATETIME2(3) NOT NULL,
        UltimoCicloOk DATETIME2(3) NULL,
        UltimoError NVARCHAR(4000) NULL,
        CONSTRAINT PK_EstadoServicios PRIMARY KEY CLUSTERED (Servicio, Host, Pid),
        CONSTRAINT CK_EstadoServicios_Rol CHECK (Rol IN (N'lider', N'espera', N'activo'))
    );
END;
GO

-- Elección de líder (BEHAVIOUR H1, common/liderazgo.py): una fila por rol (lanzador, balanceador).
-- En SQL Server decide el bloqueo de aplicación de sesión 'SAM-<rol>' (sp_getapplock); la fila sólo
-- dice quién lo tiene (servidor, proceso, desde cuándo). Fechas en UTC.
IF OBJECT_ID(N'dbo.Liderazgo', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.Liderazgo (
        Rol NVARCHAR(20) NOT NULL,
        Titular NVARCHAR(200) NOT NULL,
        Host NVARCHAR(255) NOT NULL,
        Pid INT NOT NULL,
        DesdeUtc DATETIME2(3) NOT NULL,
        RenovadoUtc DATETIME2(3) NOT NULL,
        ExpiraUtc DATETIME2(3) NOT NULL,
        CONSTRAINT PK_Liderazgo PRIMARY KEY CLUSTERED (Rol)
    );
END;
GO

-- Ajustes en caliente (C6): una fila por variable de la lista blanca; gana al entorno y al .env.
IF OBJECT_ID(N'dbo.ConfiguracionSistema', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.ConfiguracionSistema (
        Clave NVARCHAR(100) NOT NULL,
        Valor NVARCHAR(MAX) NULL,
        Descripcion NVARCHAR(500) NULL,
        FechaActualizacion DATETIME2(3) NOT NULL CONSTRAINT DF_ConfiguracionSistema_FechaActualizacion DEFAULT (GETDATE()),
        ActualizadoPor NVARCHAR(100) NULL,
        CONSTRAINT PK_ConfiguracionSistema PRIMARY KEY CLUSTERED (Clave)
    );
END;
GO

-- Auditoría (CONSOLE §4): una fila por cada cambio de operación y por cada intento rechazado
-- (validación, permiso, solape), escrita en la misma transacción que el cambio. Antes/Despues son
-- JSON; Resultado: ok, forzado, rechazado o conflicto (la fila cambió desde que se leyó).
IF OBJECT_ID(N'dbo.Auditoria', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.Auditoria (
        AuditoriaId INT IDENTITY (1, 1) NOT NULL,
        Fecha DATETIME2(3) NOT NULL CONSTRAINT DF_Auditoria_Fecha DEFAULT (GETDATE()),
        Usuario NVARCHAR(128) NOT NULL,
        Rol NVARCHAR(20) NULL,
        Ip NVARCHAR(45) NULL,
        Accion NVARCHAR(50) NOT NULL,
        Entidad NVARCHAR(50) NOT NULL,
        EntidadId NVARCHAR(100) NULL,
        Antes NVARCHAR(MAX) NULL,
        Despues NVARCHAR(MAX) NULL,
        Resultado NVARCHAR(20) NOT NULL,
        IdFormulario NVARCHAR(64) NULL,
        CONSTRAINT PK_Auditoria PRIMARY KEY CLUSTERED (AuditoriaId)
    );
END;
GO
IF NOT EXISTS (
    SELECT 1 FROM sys.indexes
    WHERE name = N'IX_Auditoria_Fecha' AND object_id = OBJECT_ID(N'dbo.Auditoria')
)
CREATE NONCLUSTERED INDEX IX_Auditoria_Fecha
ON dbo.Auditoria (Fecha);
GO
IF NOT EXISTS (
    SELECT 1 FROM sys.indexes
    WHERE name = N'IX_Auditoria_Entidad' AND object_id = OBJECT_ID(N'dbo.Auditoria')
)
CREATE NONCLUSTERED INDEX IX_Auditoria_Entidad
ON dbo.Auditoria (Entidad, EntidadId);
GO
-- One-time form token (CONSOLE §4: a form sent twice applies once): the change a console form
-- applied records the form's IdFormulario; a second submission finds that row and writes nothing.
IF COL_LENGTH(N'dbo.Auditoria', N'IdFormulario') IS NULL
ALTER TABLE dbo.Auditoria ADD IdFormulario NVARCHAR(64) NULL;
GO
IF NOT EXISTS (
    SELECT 1 FROM sys.indexes
    WHERE name = N'UX_Auditoria_IdFormulario' AND object_id = OBJECT_ID(N'dbo.Auditoria')
)
CREATE UNIQUE NONCLUSTERED INDEX UX_Auditoria_IdFormulario
ON dbo.Auditoria (IdFormulario)
WHERE IdFormulario IS NOT NULL;
GO

-- Usuarios locales de la consola (CONSOLE §2): Usuario único (se guarda en minúsculas), HashClave
-- scrypt con su sal y parámetros, Rol lector/operador/administrador. IntentosFallidos y
-- BloqueadoHasta aplican el bloqueo tras varios inicios de sesión fallidos.
IF OBJECT_ID(N'dbo.UsuariosConsola', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.UsuariosConsola (
        UsuarioId INT IDENTITY (1, 1) NOT NULL,
        Usuario NVARCHAR(128) NOT NULL,
        Nombre NVARCHAR(200) NULL,
        HashClave NVARCHAR(400) NOT NULL,
        Rol NVARCHAR(20) NOT NULL,
        Activo BIT NOT NULL CONSTRAINT DF_UsuariosConsola_Activo DEFAULT (1),
        FechaAlta DATETIME2(3) NOT NULL CONSTRAINT DF_UsuariosConsola_FechaAlta DEFAULT (GETDATE()),
        UltimoAcceso DATETIME2(3) NULL,
        IntentosFallidos INT NOT NULL CONSTRAINT DF_UsuariosConsola_IntentosFallidos DEFAULT (0),
        BloqueadoHasta DATETIME2(3) NULL,
        FechaActualizacion DATETIME2(3) NOT NULL CONSTRAINT DF_UsuariosConsola_FechaActualizacion DEFAULT (GETDATE()),
        VersionSesion INT NOT NULL CONSTRAINT DF_UsuariosConsola_VersionSesion DEFAULT (0),
        CONSTRAINT PK_UsuariosConsola PRIMARY KEY CLUSTERED (UsuarioId),
        CONSTRAINT UQ_UsuariosConsola_Usuario UNIQUE (Usuario),
        CONSTRAINT CK_UsuariosConsola_Rol CHECK (Rol IN (N'lector', N'operador', N'administrador'))
    );
END;
GO

-- VersionSesion: sube con cada cambio de clave, de rol, desactivación o cierre de sesión del usuario;
-- una sesión abierta con otra versión termina en su siguiente petición (también tras reiniciar).
IF COL_LENGTH(N'dbo.UsuariosConsola', N'VersionSesion') IS NULL
ALTER TABLE dbo.UsuariosConsola ADD VersionSesion INT NOT NULL
    CONSTRAINT DF_UsuariosConsola_VersionSesion DEFAULT (0);
GO

-- Solicitudes a los servicios en marcha (CONSOLE §3 POST /solicitudes, regla L8.2): «sincronizar
-- ahora» para el Lanzador, «balancear ahora» para el Balanceador. El líder de ese servicio reclama
-- la fila pendiente (AtendidaPor, AtendidaEn), la ejecuta y escribe Estado y Resultado.
IF OBJECT_ID(N'dbo.SolicitudesServicio', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.SolicitudesServicio (
        SolicitudId INT IDENTITY (1, 1) NOT NULL,
        Servicio NVARCHAR(20) NOT NULL,
        Tipo NVARCHAR(20) NOT NULL,
        SolicitadoPor NVARCHAR(128) NOT NULL,
        Fecha DATETIME2(3) NOT NULL CONSTRAINT DF_SolicitudesServicio_Fecha DEFAULT (GETDATE()),
        AtendidaEn DATETIME2(3) NULL,
        AtendidaPor NVARCHAR(300) NULL,
        Resultado NVARCHAR(4000) NULL,
        Estado NVARCHAR(20) NOT NULL CONSTRAINT DF_SolicitudesServicio_Estado DEFAULT (N'pendiente'),
        CONSTRAINT PK_SolicitudesServicio PRIMARY KEY CLUSTERED (SolicitudId),
        CONSTRAINT CK_SolicitudesServicio_Servicio CHECK (Servicio IN (N'lanzador', N'balanceador')),
        CONSTRAINT CK_SolicitudesServicio_Tipo CHECK (Tipo IN (N'sincronizar', N'balancear')),
        CONSTRAINT CK_SolicitudesServicio_Estado CHECK (Estado IN (N'pendiente', N'atendida', N'fallida'))
    );
END;
GO
IF NOT EXISTS (
    SELECT 1 FROM sys.indexes
    WHERE name = N'IX_SolicitudesServicio_Servicio_Estado' AND object_id = OBJECT_ID(N'dbo.SolicitudesServicio')
)
CREATE NONCLUSTERED INDEX IX_SolicitudesServicio_Servicio_Estado
ON dbo.SolicitudesServicio (Servicio, Estado);
GO

-- ---------------------------------------------------------------------------------------------
-- Migración desde el esquema del SAM original: columnas nuevas (cada una en su lote)
-- ---------------------------------------------------------------------------------------------

IF COL_LENGTH(N'dbo.Robots', N'ExisteEnA360') IS NULL
ALTER TABLE dbo.Robots ADD ExisteEnA360 BIT NOT NULL CONSTRAINT DF_Robots_ExisteEnA360 DEFAULT (1);
GO
IF COL_LENGTH(N'dbo.Robots', N'FechaSincronizacion') IS NULL
ALTER TABLE dbo.Robots ADD FechaSincronizacion DATETIME2(3) NULL;
GO
IF COL_LENGTH(N'dbo.Robots', N'TicketsPorEquipoAdicional') IS NULL
ALTER TABLE dbo.Robots ADD TicketsPorEquipoAdicional INT NULL;
GO
IF COL_LENGTH(N'dbo.Equipos', N'EstadoA360') IS NULL
ALTER TABLE dbo.Equipos ADD EstadoA360 NVARCHAR(50) NULL;
GO
IF COL_LENGTH(N'dbo.Equipos', N'UsuarioActivoA360') IS NULL
ALTER TABLE dbo.Equipos ADD UsuarioActivoA360 BIT NOT NULL CONSTRAINT DF_Equipos_UsuarioActivoA360 DEFAULT (1);
GO
IF COL_LENGTH(N'dbo.Equipos', N'FechaSincronizacion') IS NULL
ALTER TABLE dbo.Equipos ADD FechaSincronizacion DATETIME2(3) NULL;
GO
IF COL_LENGTH(N'dbo.Programaciones', N'Activo') IS NULL
ALTER TABLE dbo.Programaciones ADD Activo BIT NOT NULL CONSTRAINT DF_Programaciones_Activo DEFAULT (1);
GO
IF COL_LENGTH(N'dbo.Programaciones', N'EsCiclico') IS NULL
ALTER TABLE dbo.Programaciones ADD EsCiclico BIT NOT NULL CONSTRAINT DF_Programaciones_EsCiclico DEFAULT (0);
GO
IF COL_LENGTH(N'dbo.Programaciones', N'HoraFin') IS NULL
ALTER TABLE dbo.Programaciones ADD HoraFin TIME(0) NULL;
GO
IF COL_LENGTH(N'dbo.Programaciones', N'FechaInicioVentana') IS NULL
ALTER TABLE dbo.Programaciones ADD FechaInicioVentana DATE NULL;
GO
IF COL_LENGTH(N'dbo.Programaciones', N'FechaFinVentana') IS NULL
ALTER TABLE dbo.Programaciones ADD FechaFinVentana DATE NULL;
GO
IF COL_LENGTH(N'dbo.Programaciones', N'IntervaloEntreEjecuciones') IS NULL
ALTER TABLE dbo.Programaciones ADD IntervaloEntreEjecuciones INT NULL;
GO
IF COL_LENGTH(N'dbo.Programaciones', N'DiaInicioMes') IS NULL
ALTER TABLE dbo.Programaciones ADD DiaInicioMes INT NULL;
GO
IF COL_LENGTH(N'dbo.Programaciones', N'DiaFinMes') IS NULL
ALTER TABLE dbo.Programaciones ADD DiaFinMes INT NULL;
GO
IF COL_LENGTH(N'dbo.Programaciones', N'UltimosDiasMes') IS NULL
ALTER TABLE dbo.Programaciones ADD UltimosDiasMes INT NULL;
GO
IF COL_LENGTH(N'dbo.Programaciones', N'FechaActualizacion') IS NULL
ALTER TABLE dbo.Programaciones ADD FechaActualizacion DATETIME2(3) NOT NULL
    CONSTRAINT DF_Programaciones_FechaActualizacion DEFAULT (GETDATE());
GO
-- L7: TipoProgramacion accepts RangoMensual. A database created by an earlier SAM.sql has the
-- four-type constraint: replace it. WITH NOCHECK: legacy rows with another value stay (the warning
-- above lists them; the Lanzador skips them and alerts), every new or changed row is checked.
DECLARE @TipoAntiguo INT;
SELECT @TipoAntiguo = COUNT(*)
FROM sys.check_constraints AS cc
WHERE cc.name = N'CK_Programaciones_Tipo'
  AND CHARINDEX(N'RANGOMENSUAL', UPPER(OBJECT_DEFINITION(cc.object_id))) = 0;
IF @TipoAntiguo > 0
ALTER TABLE dbo.Programaciones DROP CONSTRAINT CK_Programaciones_Tipo;
GO
IF OBJECT_ID(N'dbo.CK_Programaciones_Tipo', N'C') IS NULL
ALTER TABLE dbo.Programaciones WITH NOCHECK ADD CONSTRAINT CK_Programaciones_Tipo
CHECK (UPPER(TipoProgramacion) IN (N'DIARIA', N'SEMANAL', N'MENSUAL', N'ESPECIFICA', N'RANGOMENSUAL'));
GO
IF COL_LENGTH(N'dbo.Asignaciones', N'ProgramacionId') IS NULL
ALTER TABLE dbo.Asignaciones ADD ProgramacionId INT NULL;
GO
IF COL_LENGTH(N'dbo.Ejecuciones', N'EjecucionId') IS NULL
ALTER TABLE dbo.Ejecuciones ADD EjecucionId INT IDENTITY (1, 1) NOT NULL;
GO
IF COL_LENGTH(N'dbo.Ejecuciones', N'MensajeError') IS NULL
ALTER TABLE dbo.Ejecuciones ADD MensajeError NVARCHAR(4000) NULL;
GO
IF COL_LENGTH(N'dbo.Ejecuciones', N'FechaSlot') IS NULL
ALTER TABLE dbo.Ejecuciones ADD FechaSlot DATE NULL;
GO
IF COL_LENGTH(N'dbo.Ejecuciones', N'RondasNoEncontrado') IS NULL
ALTER TABLE dbo.Ejecuciones ADD RondasNoEncontrado INT NOT NULL
CONSTRAINT DF_Ejecuciones_RondasNoEncontrado DEFAULT (0);
GO
IF COL_LENGTH(N'dbo.Ejecuciones', N'AlertaDuracionEnviada') IS NULL
ALTER TABLE dbo.Ejecuciones ADD AlertaDuracionEnviada BIT NOT NULL
CONSTRAINT DF_Ejecuciones_AlertaDuracionEnviada DEFAULT (0);
GO
-- Idempotent launch intent: the key the Lanzador generates before the deploy call (a UUID).
IF COL_LENGTH(N'dbo.Ejecuciones', N'ClaveIntento') IS NULL
ALTER TABLE dbo.Ejecuciones ADD ClaveIntento NVARCHAR(36) NULL;
GO
-- FalloSinConfirmar = 1: a DEPLOY_FAILED guessed by the LANZANDO recovery (L5.5); a deployment A360
-- confirms later revives the row (the one revival of common/execution_states.py).
IF COL_LENGTH(N'dbo.Ejecuciones', N'FalloSinConfirmar') IS NULL
ALTER TABLE dbo.Ejecuciones ADD FalloSinConfirmar BIT NOT NULL
CONSTRAINT DF_Ejecuciones_FalloSinConfirmar DEFAULT (0);
GO
IF COL_LENGTH(N'dbo.HistoricoBalanceo', N'CodigoMotivo') IS NULL
ALTER TABLE dbo.HistoricoBalanceo ADD CodigoMotivo NVARCHAR(50) NULL;
GO
IF COL_LENGTH(N'dbo.HistoricoBalanceo', N'EquipoIds') IS NULL
ALTER TABLE dbo.HistoricoBalanceo ADD EquipoIds NVARCHAR(4000) NULL;
GO
-- Pools (B11): the column and its foreign key in one statement (a new column is all NULL: no orphans).
IF COL_LENGTH(N'dbo.Robots', N'PoolId') IS NULL
ALTER TABLE dbo.Robots ADD PoolId INT NULL CONSTRAINT FK_Robots_Pools REFERENCES dbo.Pools (PoolId);
GO
IF COL_LENGTH(N'dbo.Equipos', N'PoolId') IS NULL
ALTER TABLE dbo.Equipos ADD PoolId INT NULL CONSTRAINT FK_Equipos_Pools REFERENCES dbo.Pools (PoolId);
GO
IF COL_LENGTH(N'dbo.HistoricoBalanceo', N'PoolId') IS NULL
ALTER TABLE dbo.HistoricoBalanceo ADD PoolId INT NULL;
GO
-- Version of the operator-owned columns (CONSOLE §4, common/operaciones): set by every operations write,
-- never by the A360 sync (a sync run does not invalidate an operator's open form).
IF COL_LENGTH(N'dbo.Robots', N'FechaActualizacion') IS NULL
ALTER TABLE dbo.Robots ADD FechaActualizacion DATETIME2(3) NOT NULL
    CONSTRAINT DF_Robots_FechaActualizacion DEFAULT (GETDATE());
GO
IF COL_LENGTH(N'dbo.Equipos', N'FechaActualizacion') IS NULL
ALTER TABLE dbo.Equipos ADD FechaActualizacion DATETIME2(3) NOT NULL
    CONSTRAINT DF_Equipos_FechaActualizacion DEFAULT (GETDATE());
GO

-- Claves nuevas sobre tablas heredadas (sólo si faltan; las comprobaciones previas 2, 3, 4 y 6
-- han rechazado ya lo que las haría fallar).
IF NOT EXISTS (
    SELECT 1 FROM sys.key_constraints
    WHERE parent_object_id = OBJECT_ID(N'dbo.Ejecuciones') AND type = 'PK'
)
ALTER TABLE dbo.Ejecuciones ADD CONSTRAINT PK_Ejecuciones PRIMARY KEY CLUSTERED (EjecucionId);
GO
IF NOT EXISTS (
    SELECT 1 FROM sys.key_constraints
    WHERE parent_object_id = OBJECT_ID(N'dbo.Asignaciones') AND type = 'PK'
)
ALTER TABLE dbo.Asignaciones ADD CONSTRAINT PK_Asignaciones PRIMARY KEY CLUSTERED (RobotId, EquipoId);
GO
IF OBJECT_ID(N'dbo.FK_Asignaciones_Robots', N'F') IS NULL
ALTER TABLE dbo.Asignaciones WITH CHECK ADD CONSTRAINT FK_Asignaciones_Robots
FOREIGN KEY (RobotId) REFERENCES dbo.Robots (RobotId);
GO
IF OBJECT_ID(N'dbo.FK_Asignaciones_Equipos', N'F') IS NULL
ALTER TABLE dbo.Asignaciones WITH CHECK ADD CONSTRAINT FK_Asignaciones_Equipos
FOREIGN KEY (EquipoId) REFERENCES dbo.Equipos (EquipoId);
GO
IF OBJECT_ID(N'dbo.FK_Asignaciones_Programaciones', N'F') IS NULL
ALTER TABLE dbo.Asignaciones WITH CHECK ADD CONSTRAINT FK_Asignaciones_Programaciones
FOREIGN KEY (ProgramacionId) REFERENCES dbo.Programaciones (ProgramacionId);
GO
IF OBJECT_ID(N'dbo.FK_Programaciones_Robots', N'F') IS NULL
ALTER TABLE dbo.Programaciones WITH CHECK ADD CONSTRAINT FK_Programaciones_Robots
FOREIGN KEY (RobotId) REFERENCES dbo.Robots (RobotId);
GO

-- ---------------------------------------------------------------------------------------------
-- Índices para las consultas frecuentes
-- ---------------------------------------------------------------------------------------------

IF NOT EXISTS (
    SELECT 1 FROM sys.indexes
    WHERE name = N'UX_Ejecuciones_DeploymentId' AND object_id = OBJECT_ID(N'dbo.Ejecuciones')
)
CREATE UNIQUE NONCLUSTERED INDEX UX_Ejecuciones_DeploymentId
ON dbo.Ejecuciones (DeploymentId)
WHERE DeploymentId IS NOT NULL;
GO
IF NOT EXISTS (
    SELECT 1 FROM sys.indexes
    WHERE name = N'UX_Ejecuciones_ClaveIntento' AND object_id = OBJECT_ID(N'dbo.Ejecuciones')
)
CREATE UNIQUE NONCLUSTERED INDEX UX_Ejecuciones_ClaveIntento
ON dbo.Ejecuciones (ClaveIntento)
WHERE ClaveIntento IS NOT NULL;
GO
IF NOT EXISTS (
    SELECT 1 FROM sys.indexes
    WHERE name = N'IX_Ejecuciones_Estado' AND object_id = OBJECT_ID(N'dbo.Ejecuciones')
)
CREATE NONCLUSTERED INDEX IX_Ejecuciones_Estado
ON dbo.Ejecuciones (Estado)
INCLUDE (RobotId, EquipoId, DeploymentId, FechaInicio);
GO
IF NOT EXISTS (
    SELECT 1 FROM sys.indexes
    WHERE name = N'IX_Ejecuciones_EquipoId_Estado' AND object_id = OBJECT_ID(N'dbo.Ejecuciones')
)
CREATE NONCLUSTERED INDEX IX_Ejecuciones_EquipoId_Estado
ON dbo.Ejecuciones (EquipoId, Estado)
INCLUDE (RobotId, FechaInicio, FechaFin);
GO
IF NOT EXISTS (
    SELECT 1 FROM sys.indexes
    WHERE name = N'IX_Ejecuciones_Robot_Equipo_Fecha' AND object_id = OBJECT_ID(N'dbo.Ejecuciones')
)
CREATE NONCLUSTERED INDEX IX_Ejecuciones_Robot_Equipo_Fecha
ON dbo.Ejecuciones (RobotId, EquipoId, FechaInicio)
INCLUDE (Estado, FechaSlot, Hora);
GO
-- R1 (BEHAVIOUR §14): each per-cycle read touches only the open executions, through the filtered
-- indexes WHERE FechaFin IS NULL (a few hundred rows, however long the history), with FechaFin IS NULL
-- as a plain conjunct of the query (common/database/ocupacion.abierta). FechaFin is INCLUDEd so that
-- the optimizer never needs a key lookup to re-check the filter. A pair's history is only ever
-- sought, never scanned: the slot already launched (IX_Ejecuciones_Slot) and the recent
-- DEPLOY_FAILED / last end of a (robot, equipo) (IX_Ejecuciones_Robot_Equipo_Fin, FechaFin bare).
IF NOT EXISTS (
    SELECT 1 FROM sys.indexes
    WHERE name = N'IX_Ejecuciones_Abiertas' AND object_id = OBJECT_ID(N'dbo.Ejecuciones')
)
CREATE NONCLUSTERED INDEX IX_Ejecuciones_Abiertas
ON dbo.Ejecuciones (EquipoId, RobotId)
INCLUDE (Estado, DeploymentId, FechaInicio, FechaActualizacion, FechaFin)
WHERE FechaFin IS NULL;
GO
IF NOT EXISTS (
    SELECT 1 FROM sys.indexes
    WHERE name = N'IX_Ejecuciones_Abiertas_Inicio' AND object_id = OBJECT_ID(N'dbo.Ejecuciones')
)
CREATE NONCLUSTERED INDEX IX_Ejecuciones_Abiertas_Inicio
ON dbo.Ejecuciones (FechaInicio, EjecucionId)
INCLUDE (Estado, DeploymentId, FechaFin)
WHERE FechaFin IS NULL;
GO
IF NOT EXISTS (
    SELECT 1 FROM sys.indexes
    WHERE name = N'IX_Ejecuciones_Abiertas_Estado' AND object_id = OBJECT_ID(N'dbo.Ejecuciones')
)
CREATE NONCLUSTERED INDEX IX_Ejecuciones_Abiertas_Estado
ON dbo.Ejecuciones (Estado, FechaActualizacion)
INCLUDE (DeploymentId, FechaInicio, FechaFin)
WHERE FechaFin IS NULL;
GO
IF NOT EXISTS (
    SELECT 1 FROM sys.indexes
    WHERE name = N'IX_Ejecuciones_Slot' AND object_id = OBJECT_ID(N'dbo.Ejecuciones')
)
CREATE NONCLUSTERED INDEX IX_Ejecuciones_Slot
ON dbo.Ejecuciones (RobotId, EquipoId, FechaSlot, Hora);
GO
IF NOT EXISTS (
    SELECT 1 FROM sys.indexes
    WHERE name = N'IX_Ejecuciones_Robot_Equipo_Fin' AND object_id = OBJECT_ID(N'dbo.Ejecuciones')
)
CREATE NONCLUSTERED INDEX IX_Ejecuciones_Robot_Equipo_Fin
ON dbo.Ejecuciones (RobotId, EquipoId, FechaFin)
INCLUDE (Estado);
GO
IF NOT EXISTS (
    SELECT 1 FROM sys.indexes
    WHERE name = N'IX_Asignaciones_EquipoId' AND object_id = OBJECT_ID(N'dbo.Asignaciones')
)
CREATE NONCLUSTERED INDEX IX_Asignaciones_EquipoId
ON dbo.Asignaciones (EquipoId)
INCLUDE (EsProgramado, Reservado, AsignadoPor);
GO
IF NOT EXISTS (
    SELECT 1 FROM sys.indexes
    WHERE name = N'IX_Asignaciones_ProgramacionId' AND object_id = OBJECT_ID(N'dbo.Asignaciones')
)
CREATE NONCLUSTERED INDEX IX_Asignaciones_ProgramacionId
ON dbo.Asignaciones (ProgramacionId);
GO
IF NOT EXISTS (
    SELECT 1 FROM sys.indexes
    WHERE name = N'IX_Programaciones_RobotId' AND object_id = OBJECT_ID(N'dbo.Programaciones')
)
CREATE NONCLUSTERED INDEX IX_Programaciones_RobotId
ON dbo.Programaciones (RobotId)
INCLUDE (TipoProgramacion, HoraInicio, Activo);
GO
IF NOT EXISTS (
    SELECT 1 FROM sys.indexes
    WHERE name = N'IX_HistoricoBalanceo_Robot_Fecha' AND object_id = OBJECT_ID(N'dbo.HistoricoBalanceo')
)
CREATE NONCLUSTERED INDEX IX_HistoricoBalanceo_Robot_Fecha
ON dbo.HistoricoBalanceo (RobotId, FechaBalanceo);
GO
-- Pools y mapeo de nombres (B11, B14): nombres únicos, la lectura del mapeo de cada ciclo, y los
-- miembros de un pool (consola, y la comprobación de la clave foránea al borrar un pool o un robot).
IF NOT EXISTS (
    SELECT 1 FROM sys.indexes
    WHERE name = N'UX_Pools_Nombre' AND object_id = OBJECT_ID(N'dbo.Pools')
)
CREATE UNIQUE NONCLUSTERED INDEX UX_Pools_Nombre
ON dbo.Pools (Nombre);
GO
IF NOT EXISTS (
    SELECT 1 FROM sys.indexes
    WHERE name = N'UX_MapeoRobots_Proveedor_Nombre' AND object_id = OBJECT_ID(N'dbo.MapeoRobots')
)
CREATE UNIQUE NONCLUSTERED INDEX UX_MapeoRobots_Proveedor_Nombre
ON dbo.MapeoRobots (Proveedor, NombreExterno)
INCLUDE (RobotId);
GO
IF NOT EXISTS (
    SELECT 1 FROM sys.indexes
    WHERE name = N'IX_MapeoRobots_RobotId' AND object_id = OBJECT_ID(N'dbo.MapeoRobots')
)
CREATE NONCLUSTERED INDEX IX_MapeoRobots_RobotId
ON dbo.MapeoRobots (RobotId);
GO
IF NOT EXISTS (
    SELECT 1 FROM sys.indexes
    WHERE name = N'IX_Robots_PoolId' AND object_id = OBJECT_ID(N'dbo.Robots')
)
CREATE NONCLUSTERED INDEX IX_Robots_PoolId
ON dbo.Robots (PoolId);
GO
IF NOT EXISTS (
    SELECT 1 FROM sys.indexes
    WHERE name = N'IX_Equipos_PoolId' AND object_id = OBJECT_ID(N'dbo.Equipos')
)
CREATE NONCLUSTERED INDEX IX_Equipos_PoolId
ON dbo.Equipos (PoolId);
GO
IF NOT EXISTS (
    SELECT 1 FROM sys.indexes
    WHERE name = N'IX_CallbacksRecibidos_DeploymentId' AND object_id = OBJECT_ID(N'dbo.CallbacksRecibidos')
)
CREATE NONCLUSTERED INDEX IX_CallbacksRecibidos_DeploymentId
ON dbo.CallbacksRecibidos (DeploymentId, Aplicado);
GO
-- L5.7 late deployments: every conciliation round reads the intents the LANZANDO recovery gave up
-- lately (FalloSinConfirmar = 1) and the pending callbacks no execution has (Aplicado = 0). Both are
-- a handful of rows in ever-growing tables, read through filtered indexes; the queries repeat each
-- filter as a literal conjunct (with a parameter there SQL Server would not use the filtered index).
IF NOT EXISTS (
    SELECT 1 FROM sys.indexes
    WHERE name = N'IX_Ejecuciones_FalloSinConfirmar' AND object_id = OBJECT_ID(N'dbo.Ejecuciones')
)
CREATE NONCLUSTERED INDEX IX_Ejecuciones_FalloSinConfirmar
ON dbo.Ejecuciones (Estado, FechaFin)
INCLUDE (DeploymentId, FechaInicio, FalloSinConfirmar)
WHERE FalloSinConfirmar = 1;
GO
IF NOT EXISTS (
    SELECT 1 FROM sys.indexes
    WHERE name = N'IX_CallbacksRecibidos_Pendientes' AND object_id = OBJECT_ID(N'dbo.CallbacksRecibidos')
)
CREATE NONCLUSTERED INDEX IX_CallbacksRecibidos_Pendientes
ON dbo.CallbacksRecibidos (CallbackId)
INCLUDE (DeploymentId, Aplicado)
WHERE Aplicado = 0;
GO

-- ---------------------------------------------------------------------------------------------
-- Vistas
-- ---------------------------------------------------------------------------------------------

CREATE OR ALTER VIEW dbo.AsignacionesView
AS
SELECT
    a.RobotId,
    r.Robot,
    a.EquipoId,
    e.Equipo,
    e.UserId,
    e.UserName,
    e.Licencia,
    a.EsProgramado,
    a.Reservado,
    a.AsignadoPor,
    a.FechaAsignacion,
    a.ProgramacionId,
    r.EsOnline,
    r.Activo AS RobotActivo,
    e.Activo_SAM AS EquipoActivo
FROM dbo.Asignaciones AS a
INNER JOIN dbo.Robots AS r ON r.RobotId = a.RobotId
INNER JOIN dbo.Equipos AS e ON e.EquipoId = a.EquipoId;
GO

-- Ejecuciones abiertas: el predicado es common/database/ocupacion.abierta("x.") (lo comprueba un test).
CREATE OR ALTER VIEW dbo.EjecucionesActivas
AS
SELECT
    x.EjecucionId,
    x.DeploymentId,
    x.RobotId,
    r.Robot,
    x.EquipoId,
    e.Equipo,
    x.UserId,
    x.Hora,
    x.FechaSlot,
    x.FechaInicio,
    x.Estado,
    x.FechaActualizacion,
    x.RondasNoEncontrado
FROM dbo.Ejecuciones AS x
LEFT JOIN dbo.Robots AS r ON r.RobotId = x.RobotId
LEFT JOIN dbo.Equipos AS e ON e.EquipoId = x.EquipoId
WHERE x.FechaFin IS NULL AND x.Estado NOT IN ('COMPLETED','DEPLOY_FAILED','RUN_ABORTED','RUN_COMPLETED','RUN_FAILED','RUN_TIMED_OUT');
GO

CREATE OR ALTER VIEW dbo.EquiposAsignados
AS
SELECT
    e.EquipoId,
    e.Equipo,
    e.UserName,
    e.Licencia,
    e.Activo_SAM,
    e.PermiteBalanceoDinamico,
    e.EstadoA360,
    COUNT(a.RobotId) AS RobotsAsignados,
    SUM(CASE WHEN a.EsProgramado = 1 THEN 1 ELSE 0 END) AS RobotsProgramados,
    SUM(CASE WHEN a.Reservado = 1 THEN 1 ELSE 0 END) AS RobotsReservados,
    SUM(CASE WHEN (a.AsignadoPor COLLATE Latin1_General_BIN2 = N'Balanceador' AND DATALENGTH(a.AsignadoPor) = 22) THEN 1 ELSE 0 END) AS RobotsBalanceador
FROM dbo.Equipos AS e
INNER JOIN dbo.Asignaciones AS a ON a.EquipoId = e.EquipoId
GROUP BY e.EquipoId, e.Equipo, e.UserName, e.Licencia, e.Activo_SAM, e.PermiteBalanceoDinamico, e.EstadoA360;
GO

-- Todas las ejecuciones, actuales y movidas al histórico (R4: lo que muestra ejecuciones pasadas
-- lee esta vista). Origen: N'Ejecuciones' (tabla viva) o N'Ejecuciones_Historico'.
CREATE OR ALTER VIEW dbo.EjecucionesTodas
AS
SELECT
    EjecucionId, DeploymentId, RobotId, EquipoId, UserId, Hora, FechaInicio, FechaFin, Estado,
    FechaActualizacion, CallbackInfo, MensajeError, FechaSlot, RondasNoEncontrado,
    AlertaDuracionEnviada, ClaveIntento, FalloSinConfirmar,
    FechaMovimiento, CAST(N'Ejecuciones_Historico' AS NVARCHAR(30)) AS Origen
FROM dbo.Ejecuciones_Historico
UNION ALL
SELECT
    EjecucionId, DeploymentId, RobotId, EquipoId, UserId, Hora, FechaInicio, FechaFin, Estado,
    FechaActualizacion, CallbackInfo, MensajeError, FechaSlot, RondasNoEncontrado,
    AlertaDuracionEnviada, ClaveIntento, FalloSinConfirmar,
    CAST(NULL AS DATETIME2(3)) AS FechaMovimiento, CAST(N'Ejecuciones' AS NVARCHAR(30)) AS Origen
FROM dbo.Ejecuciones;
GO

-- ---------------------------------------------------------------------------------------------
-- Procedimientos de operación (carga de datos por los operadores)
--
-- Defectos del original corregidos: se validan todos los parámetros (robot y equipos deben
-- existir, sin ambigüedad de nombres; días y horas válidos), todo ocurre en una transacción
-- (nada queda a medias), no se duplican programaciones ni asignaciones, y cualquier error se
-- registra en dbo.ErrorLog y se relanza (THROW) para que el operador lo vea.
-- @Robot acepta el nombre del robot o su RobotId; @Equipos una lista separada por comas de
-- nombres de equipo o EquipoId. @Ahora (opcional) es la hora de SAM (SAM_ZONA_HORARIA) que pasan
-- los servicios y herramientas de SAM: FechaAsignacion y la comprobación de "fecha en el pasado";
-- NULL = GETDATE() del servidor.
-- ---------------------------------------------------------------------------------------------

-- Internal helper: registers a caught error in dbo.ErrorLog (never fails the caller).
CREATE OR ALTER PROCEDURE dbo.RegistrarErrorSAM
    @SPNombre NVARCHAR(128),
    @Parametros NVARCHAR(MAX)
AS
BEGIN
    SET NOCOUNT ON;
    BEGIN TRY
        INSERT INTO dbo.ErrorLog (FechaError, Usuario, SPNombre, ErrorMensaje, Parametros)
        VALUES (
            GETDATE(),
            SUSER_SNAME(),
            @SPNombre,
            LEFT(
                CONCAT(
                    N'Error ', ERROR_NUMBER(), N' (l', NCHAR(237), N'nea ', ERROR_LINE(), N'): ', ERROR_MESSAGE()
                ),
                4000
            ),
            @Parametros
        );
    END TRY
    BEGIN CATCH
        -- Logging must never hide the original error.
        PRINT N'No se pudo registrar el error en dbo.ErrorLog.';
    END CATCH;
END;
GO

-- Internal helper: resolves @Robot (name or id) and @Equipos (names or ids, comma separated)
-- into the temp table #EquiposSolicitados created by the caller. Throws on any invalid input.
CREATE OR ALTER PROCEDURE dbo.ResolverRobotYEquiposSAM
    @Robot NVARCHAR(100),
    @Equipos NVARCHAR(MAX),
    @RobotId INT OUTPUT
AS
BEGIN
    SET NOCOUNT ON;
    DECLARE @RobotTexto NVARCHAR(100) = LTRIM(RTRIM(ISNULL(@Robot, N'')));
    DECLARE @Coincidencias INT;
    DECLARE @Mensaje NVARCHAR(2048);
    DECLARE @Desconocido NVARCHAR(100);

    IF @RobotTexto = N''
        THROW 50001, N'El parámetro @Robot es obligatorio (nombre o RobotId).', 1;

    SELECT @Coincidencias = COUNT(*)
    FROM dbo.Robots AS r
    WHERE r.Robot = @RobotTexto OR CONVERT(NVARCHAR(20), r.RobotId) = @RobotTexto;

    IF @Coincidencias = 0
    BEGIN
        SET @Mensaje = CONCAT(N'El robot ''', @RobotTexto, N''' no existe en dbo.Robots.');
        THROW 50002, @Mensaje, 1;
    END;
    IF @Coincidencias > 1
    BEGIN
        SET @Mensaje = CONCAT(N'El nombre de robot ''', @RobotTexto, N''' es ambiguo: indique el RobotId.');
        THROW 50003, @Mensaje, 1;
    END;

    SELECT @RobotId = r.RobotId
    FROM dbo.Robots AS r
    WHERE r.Robot = @RobotTexto OR CONVERT(NVARCHAR(20), r.RobotId) = @RobotTexto;

    IF LTRIM(RTRIM(ISNULL(@Equipos, N''))) = N''
        THROW 50004, N'El parámetro @Equipos es obligatorio (lista de equipos separada por comas).', 1;

    INSERT INTO #EquiposSolicitados (Nombre)
    SELECT DISTINCT LTRIM(RTRIM(s.value))
    FROM STRING_SPLIT(@Equipos, N',') AS s
    WHERE LTRIM(RTRIM(s.value)) <> N'';

    UPDATE q
    SET q.EquipoId = e.EquipoId
    FROM #EquiposSolicitados AS q
    INNER JOIN dbo.Equipos AS e
        ON e.Equipo = q.Nombre OR CONVERT(NVARCHAR(20), e.EquipoId) = q.Nombre;

    SELECT TOP (1) @Desconocido = q.Nombre
    FROM #EquiposSolicitados AS q
    WHERE q.EquipoId IS NULL;

    IF @Desconocido IS NOT NULL
    BEGIN
        SET @Mensaje = CONCAT(N'El equipo ''', @Desconocido, N''' no existe en dbo.Equipos.');
        THROW 50005, @Mensaje, 1;
    END;

    SELECT TOP (1) @Desconocido = q.Nombre
    FROM #EquiposSolicitados AS q
    INNER JOIN dbo.Equipos AS e
        ON e.Equipo = q.Nombre OR CONVERT(NVARCHAR(20), e.EquipoId) = q.Nombre
    GROUP BY q.Nombre
    HAVING COUNT(*) > 1;

    IF @Desconocido IS NOT NULL
    BEGIN
        SET @Mensaje = CONCAT(N'El equipo ''', @Desconocido, N''' es ambiguo: indique el EquipoId.');
        THROW 50006, @Mensaje, 1;
    END;
END;
GO

-- Assigns an online robot (EsOnline = 1) to the given equipos as non-scheduled assignments.
-- An existing assignment of the pair becomes an online one (EsProgramado = 0). Refused while the
-- robot has active schedules (as common/operaciones/robots.py refuses EsOnline) and on a pair the
-- balancer holds (B9: its rows are never edited; with @Reservado = 1, on an equipo the balancer
-- holds for any robot, as common/operaciones/asignaciones.py). Robots.FechaActualizacion is set
-- (an open console form sees a conflict) and one dbo.Auditoria row (Usuario SUSER_SNAME()) is written.
CREATE OR ALTER PROCEDURE dbo.AsignarRobotOnline
    @Robot NVARCHAR(100),
    @Equipos NVARCHAR(MAX),
    @Reservado BIT = 0,
    @AsignadoPor NVARCHAR(50) = N'Manual',
    @Ahora DATETIME2(0) = NULL
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;
    DECLARE @RobotId INT;
    DECLARE @Mensaje NVARCHAR(2048);
    DECLARE @Despues NVARCHAR(MAX);
    -- SAM clock of the caller (SAM_ZONA_HORARIA); NULL = the server's GETDATE(), truncated to the
    -- second (converting to DATETIME2(0) directly would round 23:59:59.5 up to the next day).
    IF @Ahora IS NULL SET @Ahora = CONVERT(DATETIME2(0), CONVERT(CHAR(19), GETDATE(), 126));
    DECLARE @Parametros NVARCHAR(MAX) = CONCAT(
        N'@Robot=', @Robot, N'; @Equipos=', @Equipos,
        N'; @Reservado=', @Reservado, N'; @AsignadoPor=', @AsignadoPor,
        N'; @Ahora=', CONVERT(NVARCHAR(19), @Ahora, 120)
    );

    BEGIN TRY
        IF LTRIM(RTRIM(ISNULL(@AsignadoPor, N''))) = N''
            THROW 50010, N'El parámetro @AsignadoPor no puede estar vacío.', 1;
        IF @AsignadoPor = N'Balanceador'
            THROW 50011, N'@AsignadoPor = ''Balanceador'' está reservado al servicio Balanceador.', 1;

        CREATE TABLE #EquiposSolicitados (Nombre NVARCHAR(100) COLLATE DATABASE_DEFAULT NOT NULL, EquipoId INT NULL);
        EXEC dbo.ResolverRobotYEquiposSAM @Robot = @Robot, @Equipos = @Equipos, @RobotId = @RobotId OUTPUT;

        BEGIN TRANSACTION;

        SELECT TOP (1) @Mensaje = CONCAT(
            N'El robot ', r.Robot, N' (id ', r.RobotId, N') tiene programaciones activas (la ', p.ProgramacionId,
            N', entre otras): un robot se lanza o por sus programaciones o online, no de las dos formas; ',
            N'desactive antes esas programaciones (dbo.DesactivarProgramacion).'
        )
        FROM dbo.Programaciones AS p WITH (UPDLOCK, HOLDLOCK)
        INNER JOIN dbo.Robots AS r ON r.RobotId = p.RobotId
        WHERE p.RobotId = @RobotId AND p.Activo = 1
        ORDER BY p.ProgramacionId;
        IF @Mensaje IS NOT NULL
            THROW 50052, @Mensaje, 1;

        SELECT TOP (1) @Mensaje = CONCAT(
            N'El equipo ', e.Equipo, N' lo tiene asignado el Balanceador para el robot ', r.Robot,
            N' (id ', r.RobotId, N'); SAM no modifica las filas del Balanceador: ponga ',
            N'PermiteBalanceoDinamico = 0 en el equipo, espere a que el Balanceador lo libere y vuelva a intentarlo entonces.'
        )
        FROM dbo.Asignaciones AS a WITH (UPDLOCK, HOLDLOCK)
        INNER JOIN #EquiposSolicitados AS q ON q.EquipoId = a.EquipoId
        INNER JOIN dbo.Equipos AS e ON e.EquipoId = a.EquipoId
        INNER JOIN dbo.Robots AS r ON r.RobotId = a.RobotId
        WHERE a.AsignadoPor = N'Balanceador' AND (a.RobotId = @RobotId OR ISNULL(@Reservado, 0) = 1)
        ORDER BY a.EquipoId, a.RobotId;
        IF @Mensaje IS NOT NULL
            THROW 50053, @Mensaje, 1;

        UPDATE dbo.Robots
        SET EsOnline = 1, FechaActualizacion = @Ahora
        WHERE RobotId = @RobotId;

        UPDATE a
        SET
            a.EsProgramado = 0,
            a.ProgramacionId = NULL,
            a.Reservado = ISNULL(@Reservado, 0),
            a.AsignadoPor = @AsignadoPor,
            a.FechaAsignacion = @Ahora
        FROM dbo.Asignaciones AS a WITH (UPDLOCK, HOLDLOCK)
        INNER JOIN #EquiposSolicitados AS q ON q.EquipoId = a.EquipoId
        WHERE a.RobotId = @RobotId;

        INSERT INTO dbo.Asignaciones
            (RobotId, EquipoId, EsProgramado, Reservado, FechaAsignacion, AsignadoPor, ProgramacionId)
        SELECT DISTINCT @RobotId, q.EquipoId, 0, ISNULL(@Reservado, 0), @Ahora, @AsignadoPor, NULL
        FROM #EquiposSolicitados AS q
        WHERE NOT EXISTS (
            SELECT 1 FROM dbo.Asignaciones AS a WITH (UPDLOCK, HOLDLOCK)
            WHERE a.RobotId = @RobotId AND a.EquipoId = q.EquipoId
        );

        SET @Despues = (
            SELECT
                @RobotId AS RobotId, CAST(1 AS BIT) AS EsOnline, ISNULL(@Reservado, 0) AS Reservado,
                @AsignadoPor AS AsignadoPor,
                (SELECT q.EquipoId FROM #EquiposSolicitados AS q ORDER BY q.EquipoId FOR JSON PATH) AS Equipos
            FOR JSON PATH, WITHOUT_ARRAY_WRAPPER
        );
        INSERT INTO dbo.Auditoria (Fecha, Usuario, Rol, Ip, Accion, Entidad, EntidadId, Antes, Despues, Resultado)
        VALUES (
            @Ahora, SUSER_SNAME(), NULL, CONVERT(NVARCHAR(45), CONNECTIONPROPERTY('client_net_address')),
            N'asignar_online', N'Asignaciones', CONVERT(NVARCHAR(100), @RobotId), NULL, @Despues, N'ok'
        );

        COMMIT TRANSACTION;
    END TRY
    BEGIN CATCH
        IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION;
        EXEC dbo.RegistrarErrorSAM @SPNombre = N'dbo.AsignarRobotOnline', @Parametros = @Parametros;
        THROW;
    END CATCH;
END;
GO

-- Internal helper (BEHAVIOUR L7.4): the overlaps a schedule write introduces on the equipos in
-- #EquiposSolicitados (caller's), into #Solapes (caller's). Same rule as common/solapamiento.py and
-- common/operaciones/programaciones.py: the candidate (key @ProgramacionId, 0 = new) and, when
-- @Asignar = 1 makes the robot's assignment on an equipo shared (ProgramacionId NULL), the robot's
-- other active schedules arrive there; each arriving schedule is compared with every other active
-- schedule on that equipo over the slot days @Desde .. @Desde + @Dias - 1 (windows: one-shot
-- [inicio, inicio + tolerancia] closed, cyclic [inicio, fin) half-open; invalid rows never count).
-- GENERATED by lanzador/database/solapes_sql.py (python -m lanzador.database.solapes_sql): the day
-- rule and the validity predicate are the selection's (lanzador/database/seleccion.py).
CREATE OR ALTER PROCEDURE dbo.SolapesProgramacionSAM
    @RobotId INT,
    @ProgramacionId INT,
    @Asignar BIT,
    @TipoProgramacion NVARCHAR(20),
    @HoraInicio TIME(0),
    @Tolerancia INT,
    @DiaSemana NVARCHAR(50),
    @DiaDelMes INT,
    @FechaEspecifica DATE,
    @EsCiclico BIT,
    @HoraFin TIME(0),
    @IntervaloEntreEjecuciones INT,
    @FechaInicioVentana DATE,
    @FechaFinVentana DATE,
    @DiaInicioMes INT,
    @DiaFinMes INT,
    @UltimosDiasMes INT,
    @Desde DATE,
    @Dias INT = 62
AS
BEGIN
    SET NOCOUNT ON;
    DECLARE @Clave INT = ISNULL(@ProgramacionId, 0);
    CREATE TABLE #Defs (
        Clave INT NOT NULL PRIMARY KEY,
        RobotId INT NOT NULL,
        TipoProgramacion NVARCHAR(20) COLLATE DATABASE_DEFAULT NOT NULL,
        HoraInicio TIME(0) NULL,
        HoraFin TIME(0) NULL,
        Tolerancia INT NULL,
        DiaSemana NVARCHAR(50) COLLATE DATABASE_DEFAULT NULL,
        DiasNorm NVARCHAR(60) COLLATE DATABASE_DEFAULT NULL,
        DiaDelMes INT NULL,
        FechaEspecifica DATE NULL,
        EsCiclico BIT NOT NULL,
        FechaInicioVentana DATE NULL,
        FechaFinVentana DATE NULL,
        IntervaloEntreEjecuciones INT NULL,
        DiaInicioMes INT NULL,
        DiaFinMes INT NULL,
        UltimosDiasMes INT NULL
    );
    CREATE TABLE #EnEquipo (EquipoId INT NOT NULL, Clave INT NOT NULL, Llega BIT NOT NULL, PRIMARY KEY (EquipoId, Clave));
    CREATE TABLE #Ventanas (Clave INT NOT NULL, Dia DATE NOT NULL, Cerrada BIT NOT NULL, Inicio DATETIME2(0) NOT NULL, Fin DATETIME2(0) NOT NULL);

    INSERT INTO #Defs (
        Clave, RobotId, TipoProgramacion, HoraInicio, HoraFin, Tolerancia, DiaSemana, DiaDelMes, FechaEspecifica,
        EsCiclico, FechaInicioVentana, FechaFinVentana, IntervaloEntreEjecuciones, DiaInicioMes, DiaFinMes, UltimosDiasMes
    )
    VALUES (
        @Clave, @RobotId, @TipoProgramacion, @HoraInicio, @HoraFin, @Tolerancia, @DiaSemana, @DiaDelMes, @FechaEspecifica,
        ISNULL(@EsCiclico, 0), @FechaInicioVentana, @FechaFinVentana, @IntervaloEntreEjecuciones, @DiaInicioMes, @DiaFinMes,
        @UltimosDiasMes
    );

    -- The other active schedules of the robot or of the equipos, locked until the caller commits.
    INSERT INTO #Defs (
        Clave, RobotId, TipoProgramacion, HoraInicio, HoraFin, Tolerancia, DiaSemana, DiaDelMes, FechaEspecifica,
        EsCiclico, FechaInicioVentana, FechaFinVentana, IntervaloEntreEjecuciones, DiaInicioMes, DiaFinMes, UltimosDiasMes
    )
    SELECT
        p.ProgramacionId, p.RobotId, p.TipoProgramacion, p.HoraInicio, p.HoraFin, p.Tolerancia, p.DiaSemana, p.DiaDelMes,
        p.FechaEspecifica, p.EsCiclico, p.FechaInicioVentana, p.FechaFinVentana, p.IntervaloEntreEjecuciones,
        p.DiaInicioMes, p.DiaFinMes, p.UltimosDiasMes
    FROM dbo.Programaciones AS p WITH (UPDLOCK, HOLDLOCK)
    WHERE
        p.Activo = 1
        AND p.ProgramacionId <> @Clave
        AND (
            p.RobotId = @RobotId
            OR EXISTS (
                SELECT 1
                FROM dbo.Asignaciones AS a WITH (UPDLOCK, HOLDLOCK)
                INNER JOIN #EquiposSolicitados AS q ON q.EquipoId = a.EquipoId
                WHERE
                    a.EsProgramado = 1
                    AND (a.ProgramacionId = p.ProgramacionId OR (a.ProgramacionId IS NULL AND a.RobotId = p.RobotId))
            )
        );

    UPDATE p
    SET p.DiasNorm = N' ' + REPLACE(REPLACE(REPLACE(REPLACE(UPPER(COALESCE(p.DiaSemana, N'')),
                              NCHAR(193), N'A'), N',', N' '), N';', N' '), CHAR(9), N' ') + N' '
    FROM #Defs AS p;

    -- Before the write: the schedules each equipo serves (its own, or all the robot's when NULL).
    INSERT INTO #EnEquipo (EquipoId, Clave, Llega)
    SELECT DISTINCT q.EquipoId, d.Clave, 0
    FROM #EquiposSolicitados AS q
    INNER JOIN dbo.Asignaciones AS a WITH (UPDLOCK, HOLDLOCK)
        ON a.EquipoId = q.EquipoId AND a.EsProgramado = 1
    INNER JOIN #Defs AS d
        ON d.Clave <> @Clave
        AND (d.Clave = a.ProgramacionId OR (a.ProgramacionId IS NULL AND d.RobotId = a.RobotId));

    -- Arriving: the candidate everywhere, and the robot's others where its assignment becomes shared.
    INSERT INTO #EnEquipo (EquipoId, Clave, Llega)
    SELECT DISTINCT q.EquipoId, @Clave, 1
    FROM #EquiposSolicitados AS q;

    INSERT INTO #EnEquipo (EquipoId, Clave, Llega)
    SELECT DISTINCT q.EquipoId, d.Clave, 1
    FROM #EquiposSolicitados AS q
    INNER JOIN dbo.Asignaciones AS a WITH (UPDLOCK, HOLDLOCK)
        ON a.EquipoId = q.EquipoId AND a.RobotId = @RobotId AND a.EsProgramado = 1
        AND (a.ProgramacionId IS NULL OR a.ProgramacionId <> @Clave)
    INNER JOIN #Defs AS d ON d.RobotId = @RobotId AND d.Clave <> @Clave
    WHERE
        @Asignar = 1
        AND NOT EXISTS (SELECT 1 FROM #EnEquipo AS x WHERE x.EquipoId = q.EquipoId AND x.Clave = d.Clave);

    -- Windows of every valid schedule on every due day of the horizon (numbers CTE).
    WITH Numeros AS (
        SELECT TOP (@Dias) ROW_NUMBER() OVER (ORDER BY (SELECT NULL)) - 1 AS n
        FROM sys.all_columns
    ),
    Dias AS (
        SELECT DATEADD(DAY, Numeros.n, @Desde) AS Dia FROM Numeros
    )
    INSERT INTO #Ventanas (Clave, Dia, Cerrada, Inicio, Fin)
    SELECT
        p.Clave,
        d.Dia,
        1 - p.EsCiclico,
        DATEADD(SECOND, DATEDIFF(SECOND, CAST('00:00:00' AS TIME), p.HoraInicio), CAST(d.Dia AS DATETIME2(0))),
        CASE
            WHEN p.EsCiclico = 1 AND p.HoraFin IS NOT NULL
                THEN DATEADD(
                    SECOND,
                    DATEDIFF(SECOND, CAST('00:00:00' AS TIME), p.HoraFin),
                    CAST(CASE WHEN p.HoraFin < p.HoraInicio THEN DATEADD(DAY, 1, d.Dia) ELSE d.Dia END AS DATETIME2(0))
                )
            ELSE DATEADD(
                MINUTE,
                CASE WHEN p.Tolerancia IS NULL THEN 60 WHEN p.Tolerancia BETWEEN 0 AND 1440 THEN p.Tolerancia ELSE 0 END,
                DATEADD(SECOND, DATEDIFF(SECOND, CAST('00:00:00' AS TIME), p.HoraInicio), CAST(d.Dia AS DATETIME2(0)))
            )
        END
    FROM #Defs AS p
    CROSS JOIN Dias AS d
    WHERE (UPPER(p.TipoProgramacion) IN (N'DIARIA', N'SEMANAL', N'MENSUAL', N'ESPECIFICA', N'RANGOMENSUAL')
                  AND p.HoraInicio IS NOT NULL
                  AND (p.Tolerancia IS NULL OR p.Tolerancia BETWEEN 0 AND 1440)
                  AND (p.EsCiclico = 1 OR (p.HoraFin IS NULL AND p.IntervaloEntreEjecuciones IS NULL))
                  AND (p.IntervaloEntreEjecuciones IS NULL
                       OR p.IntervaloEntreEjecuciones BETWEEN 0 AND 10080)
                  AND (p.HoraFin IS NULL OR DATEDIFF(SECOND, CAST('00:00:00' AS TIME), p.HoraFin) <> DATEDIFF(SECOND, CAST('00:00:00' AS TIME), p.HoraInicio))
                  AND (p.FechaInicioVentana IS NULL OR p.FechaFinVentana IS NULL
                       OR p.FechaFinVentana >= p.FechaInicioVentana)
                  AND (UPPER(p.TipoProgramacion) <> N'SEMANAL' OR (
                      p.DiasNorm LIKE N'% LU %' OR p.DiasNorm LIKE N'% MA %' OR p.DiasNorm LIKE N'% MI %' OR p.DiasNorm LIKE N'% JU %' OR p.DiasNorm LIKE N'% VI %' OR p.DiasNorm LIKE N'% SA %' OR p.DiasNorm LIKE N'% DO %'))
                  AND (UPPER(p.TipoProgramacion) <> N'MENSUAL' OR p.DiaDelMes BETWEEN 1 AND 31)
                  AND (UPPER(p.TipoProgramacion) <> N'ESPECIFICA' OR p.FechaEspecifica IS NOT NULL)
                  AND (UPPER(p.TipoProgramacion) <> N'RANGOMENSUAL'
                       OR (p.UltimosDiasMes IS NULL AND p.DiaInicioMes BETWEEN 1 AND 31
                           AND p.DiaFinMes BETWEEN 1 AND 31 AND p.DiaInicioMes <= p.DiaFinMes)
                       OR (p.UltimosDiasMes BETWEEN 1 AND 31 AND p.DiaInicioMes IS NULL AND p.DiaFinMes IS NULL)))
      AND (p.FechaInicioVentana IS NULL OR d.Dia >= p.FechaInicioVentana)
              AND (p.FechaFinVentana IS NULL OR d.Dia <= p.FechaFinVentana)
              AND (
                  UPPER(p.TipoProgramacion) = N'DIARIA'
                  OR (UPPER(p.TipoProgramacion) = N'SEMANAL' AND p.DiasNorm LIKE N'% ' + CASE DATEDIFF(DAY, CAST('19000101' AS DATE), d.Dia) % 7
                              WHEN 0 THEN N'LU' WHEN 1 THEN N'MA' WHEN 2 THEN N'MI'
                              WHEN 3 THEN N'JU' WHEN 4 THEN N'VI' WHEN 5 THEN N'SA'
                              ELSE N'DO' END + N' %')
                  OR (UPPER(p.TipoProgramacion) = N'MENSUAL' AND DAY(d.Dia) = CASE WHEN p.DiaDelMes > DAY(EOMONTH(d.Dia)) THEN DAY(EOMONTH(d.Dia)) ELSE p.DiaDelMes END)
                  OR (UPPER(p.TipoProgramacion) = N'ESPECIFICA' AND p.FechaEspecifica = d.Dia)
                  OR (UPPER(p.TipoProgramacion) = N'RANGOMENSUAL' AND (
                      (p.UltimosDiasMes IS NOT NULL AND DAY(d.Dia) > DAY(EOMONTH(d.Dia)) - p.UltimosDiasMes)
                      OR (p.UltimosDiasMes IS NULL
                          AND DAY(d.Dia) >= CASE WHEN p.DiaInicioMes > DAY(EOMONTH(d.Dia)) THEN DAY(EOMONTH(d.Dia)) ELSE p.DiaInicioMes END
                          AND DAY(d.Dia) <= CASE WHEN p.DiaFinMes > DAY(EOMONTH(d.Dia)) THEN DAY(EOMONTH(d.Dia)) ELSE p.DiaFinMes END)
                  ))
              );

    -- Each arriving schedule against every other one on the equipo (a pair of arrivals once).
    INSERT INTO #Solapes (EquipoId, ProgramacionA, ProgramacionB, Desde, Hasta)
    SELECT
        ea.EquipoId,
        ea.Clave AS ProgramacionA,
        eb.Clave AS ProgramacionB,
        CASE WHEN wa.Inicio > wb.Inicio THEN wa.Inicio ELSE wb.Inicio END AS Desde,
        CASE WHEN wa.Fin < wb.Fin THEN wa.Fin ELSE wb.Fin END AS Hasta
    FROM #EnEquipo AS ea
    INNER JOIN #EnEquipo AS eb
        ON eb.EquipoId = ea.EquipoId AND eb.Clave <> ea.Clave AND (eb.Llega = 0 OR eb.Clave > ea.Clave)
    INNER JOIN #Ventanas AS wa ON wa.Clave = ea.Clave
    INNER JOIN #Ventanas AS wb
        ON wb.Clave = eb.Clave AND wb.Dia BETWEEN DATEADD(DAY, -1, wa.Dia) AND DATEADD(DAY, 1, wa.Dia)
    WHERE
        ea.Llega = 1
        AND (wa.Cerrada = 1 OR wa.Inicio < wa.Fin)
        AND (wb.Cerrada = 1 OR wb.Inicio < wb.Fin)
        AND ((wb.Cerrada = 1 AND wa.Inicio <= wb.Fin) OR (wb.Cerrada = 0 AND wa.Inicio < wb.Fin))
        AND ((wa.Cerrada = 1 AND wb.Inicio <= wa.Fin) OR (wa.Cerrada = 0 AND wb.Inicio < wa.Fin));
END;
GO
-- @@SOLAPES_PROGRAMACION@@

-- Internal helper of the schedule-writing procedures: the checks of common/programacion.py validar,
-- plus no column of another schedule type (50028), known DiaSemana codes and (when
-- @ComprobarFechaPasada = 1) no FechaEspecifica in the past (common/operaciones/programaciones.py
-- problemas_al_escribir; tests/test_validacion_paridad.py pairs each rule with its THROW).
-- THROWs the first problem in Spanish; returns DiaSemana upper-cased and trimmed.
CREATE OR ALTER PROCEDURE dbo.ValidarProgramacionSAM
    @TipoProgramacion NVARCHAR(20),
    @HoraInicio TIME(0),
    @Tolerancia INT,
    @DiaSemana NVARCHAR(50),
    @DiaDelMes INT,
    @FechaEspecifica DATE,
    @EsCiclico BIT,
    @HoraFin TIME(0),
    @IntervaloEntreEjecuciones INT,
    @FechaInicioVentana DATE,
    @FechaFinVentana DATE,
    @DiaInicioMes INT OUTPUT,
    @DiaFinMes INT OUTPUT,
    @UltimosDiasMes INT OUTPUT,
    @Ahora DATETIME2(0),
    @ComprobarFechaPasada BIT,
    @DiaSemanaNormalizado NVARCHAR(50) OUTPUT
AS
BEGIN
    SET NOCOUNT ON;
    DECLARE @DiaInvalido NVARCHAR(50);
    DECLARE @Ajena NVARCHAR(30);
    DECLARE @Mensaje NVARCHAR(2048);
    SET @EsCiclico = ISNULL(@EsCiclico, 0);
    SET @DiaSemanaNormalizado = NULL;

    IF @TipoProgramacion IS NULL
        OR @TipoProgramacion NOT IN (N'Diaria', N'Semanal', N'Mensual', N'Especifica', N'RangoMensual')
        THROW 50020, N'@TipoProgramacion debe ser Diaria, Semanal, Mensual, Especifica o RangoMensual.', 1;
    -- A column of another type is refused, not dropped: the row would not be what was asked for.
    SET @Ajena = CASE
        WHEN @TipoProgramacion <> N'Semanal' AND LTRIM(RTRIM(ISNULL(@DiaSemana, N''))) <> N'' THEN N'DiaSemana'
        WHEN @TipoProgramacion <> N'Mensual' AND @DiaDelMes IS NOT NULL THEN N'DiaDelMes'
        WHEN @TipoProgramacion <> N'Especifica' AND @FechaEspecifica IS NOT NULL THEN N'FechaEspecifica'
        WHEN @TipoProgramacion <> N'RangoMensual' AND @DiaInicioMes IS NOT NULL THEN N'DiaInicioMes'
        WHEN @TipoProgramacion <> N'RangoMensual' AND @DiaFinMes IS NOT NULL THEN N'DiaFinMes'
        WHEN @TipoProgramacion <> N'RangoMensual' AND @UltimosDiasMes IS NOT NULL THEN N'UltimosDiasMes'
    END;
    IF @Ajena IS NOT NULL
    BEGIN
        SET @Mensaje = CONCAT(
            N'@', @Ajena, N' no corresponde a una programación ', @TipoProgramacion, N' (sólo vale para ',
            CASE @Ajena
                WHEN N'DiaSemana' THEN N'Semanal' WHEN N'DiaDelMes' THEN N'Mensual'
                WHEN N'FechaEspecifica' THEN N'Especifica' ELSE N'RangoMensual'
            END,
            N'): debe ser NULL.'
        );
        THROW 50028, @Mensaje, 1;
    END;
    IF @HoraInicio IS NULL
        THROW 50021, N'El parámetro @HoraInicio es obligatorio (HH:MM).', 1;
    IF @Tolerancia IS NOT NULL AND (@Tolerancia < 0 OR @Tolerancia > 1440)
        THROW 50022, N'@Tolerancia debe estar entre 0 y 1440 minutos (NULL = 60).', 1;
    IF @EsCiclico = 0 AND (@HoraFin IS NOT NULL OR @IntervaloEntreEjecuciones IS NOT NULL)
        THROW 50030, N'@HoraFin y @IntervaloEntreEjecuciones sólo valen para una programación cíclica (@EsCiclico = 1).', 1;
    IF @IntervaloEntreEjecuciones < 0 OR @IntervaloEntreEjecuciones > 10080
        THROW 50031, N'@IntervaloEntreEjecuciones debe estar entre 0 y 10080 minutos (una semana).', 1;
    IF @HoraFin = @HoraInicio
        THROW 50032, N'@HoraFin no puede ser igual a @HoraInicio.', 1;
    IF @FechaFinVentana < @FechaInicioVentana
        THROW 50033, N'@FechaFinVentana no puede ser anterior a @FechaInicioVentana.', 1;
    IF @TipoProgramacion = N'RangoMensual'
    BEGIN
        IF @UltimosDiasMes IS NOT NULL AND (@DiaInicioMes IS NOT NULL OR @DiaFinMes IS NOT NULL)
            THROW 50034, N'RangoMensual: use @DiaInicioMes y @DiaFinMes o @UltimosDiasMes, no las dos formas.', 1;
        IF @UltimosDiasMes IS NULL AND @DiaInicioMes IS NULL AND @DiaFinMes IS NULL
            THROW 50035, N'RangoMensual necesita @DiaInicioMes y @DiaFinMes o @UltimosDiasMes.', 1;
        IF @UltimosDiasMes IS NOT NULL AND (@UltimosDiasMes < 1 OR @UltimosDiasMes > 31)
            THROW 50036, N'@UltimosDiasMes debe estar entre 1 y 31.', 1;
        IF @UltimosDiasMes IS NULL
            AND (@DiaInicioMes IS NULL OR @DiaFinMes IS NULL OR @DiaInicioMes < 1 OR @DiaFinMes > 31
                 OR @DiaInicioMes > @DiaFinMes)
            THROW 50037, N'RangoMensual: @DiaInicioMes y @DiaFinMes entre 1 y 31, el inicio no posterior al fin.', 1;
    END;

    IF @TipoProgramacion = N'Semanal'
    BEGIN
        -- Codes LU MA MI JU VI SA (or SÁ) DO, separated by commas, semicolons or spaces; whole tokens.
        -- NCHAR(193) = Á: the literal stays right whatever code page the script is read with.
        DECLARE @Tokens TABLE (Dia NVARCHAR(50) COLLATE DATABASE_DEFAULT NOT NULL);
        INSERT INTO @Tokens (Dia)
        SELECT DISTINCT UPPER(LTRIM(RTRIM(s.value)))
        FROM STRING_SPLIT(REPLACE(REPLACE(ISNULL(@DiaSemana, N''), N',', N' '), N';', N' '), N' ') AS s
        WHERE LTRIM(RTRIM(s.value)) <> N'';

        IF NOT EXISTS (SELECT 1 FROM @Tokens)
            THROW 50023, N'@DiaSemana es obligatorio para una programación semanal (p. ej. ''LU,MI,VI'').', 1;

        SELECT TOP (1) @DiaInvalido = t.Dia
        FROM @Tokens AS t
        WHERE t.Dia NOT IN (N'LU', N'MA', N'MI', N'JU', N'VI', N'SA', N'S' + NCHAR(193), N'DO');
        IF @DiaInvalido IS NOT NULL
        BEGIN
            SET @Mensaje = CONCAT(
                N'Día de la semana no válido: ''', @DiaInvalido, N'''. Use LU, MA, MI, JU, VI, SA, DO.'
            );
            THROW 50024, @Mensaje, 1;
        END;

        SET @DiaSemanaNormalizado = UPPER(LTRIM(RTRIM(@DiaSemana)));
    END;

    IF @TipoProgramacion = N'Mensual' AND (@DiaDelMes IS NULL OR @DiaDelMes < 1 OR @DiaDelMes > 31)
        THROW 50025, N'@DiaDelMes debe estar entre 1 y 31 para una programación mensual.', 1;

    IF @TipoProgramacion = N'Especifica' AND @FechaEspecifica IS NULL
        THROW 50026, N'@FechaEspecifica es obligatoria para una programación específica.', 1;
    IF @ComprobarFechaPasada = 1 AND @TipoProgramacion = N'Especifica'
        AND @FechaEspecifica < CONVERT(DATE, @Ahora)
        THROW 50027, N'@FechaEspecifica no puede estar en el pasado.', 1;
END;
GO

-- Internal helper: the conflicts in #Solapes (caller's), one Spanish line each (the first 20).
CREATE OR ALTER PROCEDURE dbo.DescribirSolapesSAM
    @Lista NVARCHAR(MAX) OUTPUT
AS
BEGIN
    SET NOCOUNT ON;
    SET @Lista = (
        SELECT TOP (20)
            CONCAT(
                NCHAR(10), N'- equipo ', e.Equipo, N' (id ', s.EquipoId, N'): programaci', NCHAR(243), N'n ',
                CASE WHEN s.ProgramacionA = 0 THEN N'nueva' ELSE CONVERT(NVARCHAR(12), s.ProgramacionA) END,
                N' con la ', s.ProgramacionB, N' del ', CONVERT(NVARCHAR(16), s.Desde, 120),
                N' al ', CONVERT(NVARCHAR(16), s.Hasta, 120)
            )
        FROM #Solapes AS s
        INNER JOIN dbo.Equipos AS e ON e.EquipoId = s.EquipoId
        ORDER BY s.Desde, s.EquipoId
        FOR XML PATH (''), TYPE
    ).value('.', 'NVARCHAR(MAX)');
END;
GO

-- Common body of the CargarProgramacion* procedures: validates (the rules of common/programacion.py
-- validar, plus known DiaSemana codes and no FechaEspecifica in the past), refuses an overlap with
-- the other active schedules of the equipos (dbo.SolapesProgramacionSAM, BEHAVIOUR L7.4) unless
-- @Forzar = 1 (then an Auditoria row 'forzado' names the conflicts), creates (or reuses an identical
-- active) schedule and creates the EsProgramado = 1 assignments with ProgramacionId and
-- AsignadoPor = 'Programacion'. A pair already scheduled by another schedule of the robot keeps
-- ProgramacionId = NULL (serves all the robot's schedules). Robots.EsOnline is not changed.
CREATE OR ALTER PROCEDURE dbo.CargarProgramacionSAM
    @TipoProgramacion NVARCHAR(20),
    @Robot NVARCHAR(100),
    @Equipos NVARCHAR(MAX),
    @HoraInicio TIME(0),
    @Tolerancia INT,
    @DiaSemana NVARCHAR(50) = NULL,
    @DiaDelMes INT = NULL,
    @FechaEspecifica DATE = NULL,
    @Ahora DATETIME2(0) = NULL,
    @ProgramacionId INT = NULL OUTPUT,
    @EsCiclico BIT = 0,
    @HoraFin TIME(0) = NULL,
    @IntervaloEntreEjecuciones INT = NULL,
    @FechaInicioVentana DATE = NULL,
    @FechaFinVentana DATE = NULL,
    @DiaInicioMes INT = NULL,
    @DiaFinMes INT = NULL,
    @UltimosDiasMes INT = NULL,
    @Forzar BIT = 0
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;
    DECLARE @RobotId INT;
    DECLARE @Lista NVARCHAR(MAX);
    DECLARE @Despues NVARCHAR(MAX);
    SET @EsCiclico = ISNULL(@EsCiclico, 0);
    -- SAM clock of the caller (FechaAsignacion, "date in the past"); NULL = GETDATE() to the second.
    IF @Ahora IS NULL SET @Ahora = CONVERT(DATETIME2(0), CONVERT(CHAR(19), GETDATE(), 126));
    DECLARE @Dias NVARCHAR(50) = NULL;
    DECLARE @Mensaje NVARCHAR(2048);

    EXEC dbo.ValidarProgramacionSAM
        @TipoProgramacion = @TipoProgramacion,
        @HoraInicio = @HoraInicio,
        @Tolerancia = @Tolerancia,
        @DiaSemana = @DiaSemana,
        @DiaDelMes = @DiaDelMes,
        @FechaEspecifica = @FechaEspecifica,
        @EsCiclico = @EsCiclico,
        @HoraFin = @HoraFin,
        @IntervaloEntreEjecuciones = @IntervaloEntreEjecuciones,
        @FechaInicioVentana = @FechaInicioVentana,
        @FechaFinVentana = @FechaFinVentana,
        @DiaInicioMes = @DiaInicioMes OUTPUT,
        @DiaFinMes = @DiaFinMes OUTPUT,
        @UltimosDiasMes = @UltimosDiasMes OUTPUT,
        @Ahora = @Ahora,
        @ComprobarFechaPasada = 1,
        @DiaSemanaNormalizado = @Dias OUTPUT;

    CREATE TABLE #EquiposSolicitados (Nombre NVARCHAR(100) COLLATE DATABASE_DEFAULT NOT NULL, EquipoId INT NULL);
    EXEC dbo.ResolverRobotYEquiposSAM @Robot = @Robot, @Equipos = @Equipos, @RobotId = @RobotId OUTPUT;

    BEGIN TRANSACTION;

    -- L7.6 (as common/operaciones/programaciones.py): an online robot is not scheduled, and an
    -- equipo the balancer holds (a 'Balanceador' row of any robot) is not taken: SAM never edits
    -- the balancer's rows (B9). Read under UPDLOCK, HOLDLOCK so the balancer cannot take it meanwhile.
    SELECT TOP (1) @Mensaje = CONCAT(
        N'No se puede programar: el robot ', r.Robot, N' (id ', r.RobotId, N') tiene EsOnline = 1 (robot online): ',
        N'un robot se lanza o por sus programaciones o online, no de las dos formas; ',
        N'ponga EsOnline = 0 en el robot y programe entonces.'
    )
    FROM dbo.Robots AS r WITH (UPDLOCK, HOLDLOCK)
    WHERE r.RobotId = @RobotId AND r.EsOnline = 1;
    IF @Mensaje IS NOT NULL
        THROW 50050, @Mensaje, 1;

    SELECT TOP (1) @Mensaje = CONCAT(
        N'No se puede programar: el equipo ', e.Equipo, N' lo tiene asignado el Balanceador para el robot ',
        r.Robot, N' (id ', r.RobotId, N'); SAM no modifica las filas del Balanceador: ',
        N'ponga PermiteBalanceoDinamico = 0 en el equipo, espere a que el Balanceador lo libere y programe entonces.'
    )
    FROM dbo.Asignaciones AS a WITH (UPDLOCK, HOLDLOCK)
    INNER JOIN #EquiposSolicitados AS q ON q.EquipoId = a.EquipoId
    INNER JOIN dbo.Equipos AS e ON e.EquipoId = a.EquipoId
    INNER JOIN dbo.Robots AS r ON r.RobotId = a.RobotId
    WHERE a.AsignadoPor = N'Balanceador'
    ORDER BY a.EquipoId, a.RobotId;
    IF @Mensaje IS NOT NULL
        THROW 50051, @Mensaje, 1;

    SET @ProgramacionId = NULL;
    SELECT TOP (1) @ProgramacionId = p.ProgramacionId
    FROM dbo.Programaciones AS p WITH (UPDLOCK, HOLDLOCK)
    WHERE
        p.RobotId = @RobotId
        AND p.Activo = 1
        AND p.TipoProgramacion = @TipoProgramacion
        AND p.HoraInicio = @HoraInicio
        AND ISNULL(p.DiaSemana, N'') = ISNULL(@Dias, N'')
        AND ISNULL(p.DiaDelMes, 0) = ISNULL(
            CASE WHEN @TipoProgramacion = N'Mensual' THEN @DiaDelMes END, 0
        )
        AND ISNULL(p.FechaEspecifica, '19000101') = ISNULL(
            CASE WHEN @TipoProgramacion = N'Especifica' THEN @FechaEspecifica END, '19000101'
        )
        AND p.EsCiclico = @EsCiclico
        AND ISNULL(p.HoraFin, CAST('00:00:00' AS TIME(0))) = ISNULL(@HoraFin, CAST('00:00:00' AS TIME(0)))
        AND ISNULL(p.IntervaloEntreEjecuciones, -1) = ISNULL(@IntervaloEntreEjecuciones, -1)
        AND ISNULL(p.FechaInicioVentana, '19000101') = ISNULL(@FechaInicioVentana, '19000101')
        AND ISNULL(p.FechaFinVentana, '19000101') = ISNULL(@FechaFinVentana, '19000101')
        AND ISNULL(p.DiaInicioMes, 0) = ISNULL(@DiaInicioMes, 0)
        AND ISNULL(p.DiaFinMes, 0) = ISNULL(@DiaFinMes, 0)
        AND ISNULL(p.UltimosDiasMes, 0) = ISNULL(@UltimosDiasMes, 0)
    ORDER BY p.ProgramacionId;

    -- L7.4: the overlaps this write introduces on the equipos (read under UPDLOCK, HOLDLOCK).
    CREATE TABLE #Solapes (
        EquipoId INT NOT NULL, ProgramacionA INT NOT NULL, ProgramacionB INT NOT NULL,
        Desde DATETIME2(0) NOT NULL, Hasta DATETIME2(0) NOT NULL
    );
    EXEC dbo.SolapesProgramacionSAM
        @RobotId = @RobotId,
        @ProgramacionId = @ProgramacionId,
        @Asignar = 1,
        @TipoProgramacion = @TipoProgramacion,
        @HoraInicio = @HoraInicio,
        @Tolerancia = @Tolerancia,
        @DiaSemana = @Dias,
        @DiaDelMes = @DiaDelMes,
        @FechaEspecifica = @FechaEspecifica,
        @EsCiclico = @EsCiclico,
        @HoraFin = @HoraFin,
        @IntervaloEntreEjecuciones = @IntervaloEntreEjecuciones,
        @FechaInicioVentana = @FechaInicioVentana,
        @FechaFinVentana = @FechaFinVentana,
        @DiaInicioMes = @DiaInicioMes,
        @DiaFinMes = @DiaFinMes,
        @UltimosDiasMes = @UltimosDiasMes,
        @Desde = @Ahora;

    IF EXISTS (SELECT 1 FROM #Solapes)
    BEGIN
        EXEC dbo.DescribirSolapesSAM @Lista = @Lista OUTPUT;
        IF ISNULL(@Forzar, 0) = 0
        BEGIN
            SET @Mensaje = LEFT(CONCAT(
                N'La programación se solapa con otras programaciones activas de sus equipos:', @Lista,
                NCHAR(10), N'Use @Forzar = 1 para crearla igualmente (queda en dbo.Auditoria).'
            ), 2000);
            THROW 50040, @Mensaje, 1;
        END;
    END;

    IF @ProgramacionId IS NULL
    BEGIN
        INSERT INTO dbo.Programaciones (
            RobotId, TipoProgramacion, HoraInicio, DiaSemana, DiaDelMes, FechaEspecifica, Tolerancia, Activo,
            EsCiclico, HoraFin, IntervaloEntreEjecuciones, FechaInicioVentana, FechaFinVentana,
            DiaInicioMes, DiaFinMes, UltimosDiasMes, FechaActualizacion
        )
        VALUES (
            @RobotId,
            @TipoProgramacion,
            @HoraInicio,
            @Dias,
            CASE WHEN @TipoProgramacion = N'Mensual' THEN @DiaDelMes END,
            CASE WHEN @TipoProgramacion = N'Especifica' THEN @FechaEspecifica END,
            ISNULL(@Tolerancia, 60),
            1,
            @EsCiclico,
            @HoraFin,
            @IntervaloEntreEjecuciones,
            @FechaInicioVentana,
            @FechaFinVentana,
            @DiaInicioMes,
            @DiaFinMes,
            @UltimosDiasMes,
            @Ahora
        );
        SET @ProgramacionId = CONVERT(INT, SCOPE_IDENTITY());
    END
    ELSE
    BEGIN
        UPDATE dbo.Programaciones
        SET Tolerancia = ISNULL(@Tolerancia, 60), FechaActualizacion = @Ahora
        WHERE ProgramacionId = @ProgramacionId;
    END;

    IF @Lista IS NOT NULL
    BEGIN
        SET @Despues = (
            SELECT s.EquipoId, s.ProgramacionA, s.ProgramacionB, s.Desde, s.Hasta
            FROM #Solapes AS s
            ORDER BY s.Desde
            FOR JSON PATH
        );
        INSERT INTO dbo.Auditoria (Fecha, Usuario, Rol, Ip, Accion, Entidad, EntidadId, Antes, Despues, Resultado)
        VALUES (
            @Ahora, SUSER_SNAME(), NULL, CONVERT(NVARCHAR(45), CONNECTIONPROPERTY('client_net_address')),
            N'crear', N'Programaciones', CONVERT(NVARCHAR(100), @ProgramacionId), NULL,
            CONCAT(N'{"Solapes":', @Despues, N'}'), N'forzado'
        );
    END;

    UPDATE a
    SET
        a.ProgramacionId = CASE
            WHEN a.EsProgramado = 1 AND (a.ProgramacionId IS NULL OR a.ProgramacionId <> @ProgramacionId)
                THEN NULL
            ELSE @ProgramacionId
        END,
        a.EsProgramado = 1,
        a.AsignadoPor = N'Programacion',
        a.FechaAsignacion = @Ahora
    FROM dbo.Asignaciones AS a WITH (UPDLOCK, HOLDLOCK)
    INNER JOIN #EquiposSolicitados AS q ON q.EquipoId = a.EquipoId
    WHERE a.RobotId = @RobotId AND a.AsignadoPor <> N'Balanceador';

    INSERT INTO dbo.Asignaciones
        (RobotId, EquipoId, EsProgramado, Reservado, FechaAsignacion, AsignadoPor, ProgramacionId)
    SELECT DISTINCT @RobotId, q.EquipoId, 1, 0, @Ahora, N'Programacion', @ProgramacionId
    FROM #EquiposSolicitados AS q
    WHERE NOT EXISTS (
        SELECT 1 FROM dbo.Asignaciones AS a WITH (UPDLOCK, HOLDLOCK)
        WHERE a.RobotId = @RobotId AND a.EquipoId = q.EquipoId
    );

    -- L7.6: the equipos that serve a schedule leave the balancer (PermiteBalanceoDinamico = 0),
    -- FechaActualizacion set (an open console form sees a conflict), one Auditoria row each.
    INSERT INTO dbo.Auditoria (Fecha, Usuario, Rol, Ip, Accion, Entidad, EntidadId, Antes, Despues, Resultado)
    SELECT
        @Ahora, SUSER_SNAME(), NULL, CONVERT(NVARCHAR(45), CONNECTIONPROPERTY('client_net_address')),
        N'modificar', N'Equipos', CONVERT(NVARCHAR(100), e.EquipoId), N'{"PermiteBalanceoDinamico":true}',
        CONCAT(N'{"PermiteBalanceoDinamico":false,"Motivo":"sirve la programaci', NCHAR(243), N'n ', @ProgramacionId, N'"}'),
        N'ok'
    FROM dbo.Equipos AS e WITH (UPDLOCK, HOLDLOCK)
    INNER JOIN #EquiposSolicitados AS q ON q.EquipoId = e.EquipoId
    WHERE e.PermiteBalanceoDinamico = 1;

    UPDATE e
    SET e.PermiteBalanceoDinamico = 0, e.FechaActualizacion = @Ahora
    FROM dbo.Equipos AS e WITH (UPDLOCK, HOLDLOCK)
    INNER JOIN #EquiposSolicitados AS q ON q.EquipoId = e.EquipoId
    WHERE e.PermiteBalanceoDinamico = 1;

    COMMIT TRANSACTION;
END;
GO

CREATE OR ALTER PROCEDURE dbo.CargarProgramacionDiaria
    @Robot NVARCHAR(100),
    @Equipos NVARCHAR(MAX),
    @HoraInicio TIME(0),
    @Tolerancia INT = 60,
    @EsCiclico BIT = 0,
    @HoraFin TIME(0) = NULL,
    @IntervaloEntreEjecuciones INT = NULL,
    @FechaInicioVentana DATE = NULL,
    @FechaFinVentana DATE = NULL,
    @Forzar BIT = 0,
    @Ahora DATETIME2(0) = NULL
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;
    DECLARE @ProgramacionId INT;
    IF @Ahora IS NULL SET @Ahora = CONVERT(DATETIME2(0), CONVERT(CHAR(19), GETDATE(), 126));
    DECLARE @Parametros NVARCHAR(MAX) = CONCAT(
        N'@Robot=', @Robot, N'; @Equipos=', @Equipos,
        N'; @HoraInicio=', CONVERT(NVARCHAR(8), @HoraInicio), N'; @Tolerancia=', @Tolerancia,
        N'; @EsCiclico=', @EsCiclico, N'; @HoraFin=', CONVERT(NVARCHAR(8), @HoraFin),
        N'; @IntervaloEntreEjecuciones=', @IntervaloEntreEjecuciones,
        N'; @FechaInicioVentana=', CONVERT(NVARCHAR(10), @FechaInicioVentana, 23),
        N'; @FechaFinVentana=', CONVERT(NVARCHAR(10), @FechaFinVentana, 23), N'; @Forzar=', @Forzar,
        N'; @Ahora=', CONVERT(NVARCHAR(19), @Ahora, 120)
    );
    BEGIN TRY
        EXEC dbo.CargarProgramacionSAM
            @TipoProgramacion = N'Diaria',
            @Robot = @Robot,
            @Equipos = @Equipos,
            @HoraInicio = @HoraInicio,
            @Tolerancia = @Tolerancia,
            @EsCiclico = @EsCiclico,
            @HoraFin = @HoraFin,
            @IntervaloEntreEjecuciones = @IntervaloEntreEjecuciones,
            @FechaInicioVentana = @FechaInicioVentana,
            @FechaFinVentana = @FechaFinVentana,
            @Forzar = @Forzar,
            @Ahora = @Ahora,
            @ProgramacionId = @ProgramacionId OUTPUT;
        SELECT @ProgramacionId AS ProgramacionId;
    END TRY
    BEGIN CATCH
        IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION;
        EXEC dbo.RegistrarErrorSAM @SPNombre = N'dbo.CargarProgramacionDiaria', @Parametros = @Parametros;
        THROW;
    END CATCH;
END;
GO

CREATE OR ALTER PROCEDURE dbo.CargarProgramacionSemanal
    @Robot NVARCHAR(100),
    @Equipos NVARCHAR(MAX),
    @DiaSemana NVARCHAR(50),
    @HoraInicio TIME(0),
    @Tolerancia INT = 60,
    @EsCiclico BIT = 0,
    @HoraFin TIME(0) = NULL,
    @IntervaloEntreEjecuciones INT = NULL,
    @FechaInicioVentana DATE = NULL,
    @FechaFinVentana DATE = NULL,
    @Forzar BIT = 0,
    @Ahora DATETIME2(0) = NULL
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;
    DECLARE @ProgramacionId INT;
    IF @Ahora IS NULL SET @Ahora = CONVERT(DATETIME2(0), CONVERT(CHAR(19), GETDATE(), 126));
    DECLARE @Parametros NVARCHAR(MAX) = CONCAT(
        N'@Robot=', @Robot, N'; @Equipos=', @Equipos, N'; @DiaSemana=', @DiaSemana,
        N'; @HoraInicio=', CONVERT(NVARCHAR(8), @HoraInicio), N'; @Tolerancia=', @Tolerancia,
        N'; @EsCiclico=', @EsCiclico, N'; @HoraFin=', CONVERT(NVARCHAR(8), @HoraFin),
        N'; @IntervaloEntreEjecuciones=', @IntervaloEntreEjecuciones,
        N'; @FechaInicioVentana=', CONVERT(NVARCHAR(10), @FechaInicioVentana, 23),
        N'; @FechaFinVentana=', CONVERT(NVARCHAR(10), @FechaFinVentana, 23), N'; @Forzar=', @Forzar,
        N'; @Ahora=', CONVERT(NVARCHAR(19), @Ahora, 120)
    );
    BEGIN TRY
        EXEC dbo.CargarProgramacionSAM
            @TipoProgramacion = N'Semanal',
            @Robot = @Robot,
            @Equipos = @Equipos,
            @HoraInicio = @HoraInicio,
            @Tolerancia = @Tolerancia,
            @DiaSemana = @DiaSemana,
            @EsCiclico = @EsCiclico,
            @HoraFin = @HoraFin,
            @IntervaloEntreEjecuciones = @IntervaloEntreEjecuciones,
            @FechaInicioVentana = @FechaInicioVentana,
            @FechaFinVentana = @FechaFinVentana,
            @Forzar = @Forzar,
            @Ahora = @Ahora,
            @ProgramacionId = @ProgramacionId OUTPUT;
        SELECT @ProgramacionId AS ProgramacionId;
    END TRY
    BEGIN CATCH
        IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION;
        EXEC dbo.RegistrarErrorSAM @SPNombre = N'dbo.CargarProgramacionSemanal', @Parametros = @Parametros;
        THROW;
    END CATCH;
END;
GO

CREATE OR ALTER PROCEDURE dbo.CargarProgramacionMensual
    @Robot NVARCHAR(100),
    @Equipos NVARCHAR(MAX),
    @DiaDelMes INT,
    @HoraInicio TIME(0),
    @Tolerancia INT = 60,
    @EsCiclico BIT = 0,
    @HoraFin TIME(0) = NULL,
    @IntervaloEntreEjecuciones INT = NULL,
    @FechaInicioVentana DATE = NULL,
    @FechaFinVentana DATE = NULL,
    @Forzar BIT = 0,
    @Ahora DATETIME2(0) = NULL
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;
    DECLARE @ProgramacionId INT;
    IF @Ahora IS NULL SET @Ahora = CONVERT(DATETIME2(0), CONVERT(CHAR(19), GETDATE(), 126));
    DECLARE @Parametros NVARCHAR(MAX) = CONCAT(
        N'@Robot=', @Robot, N'; @Equipos=', @Equipos, N'; @DiaDelMes=', @DiaDelMes,
        N'; @HoraInicio=', CONVERT(NVARCHAR(8), @HoraInicio), N'; @Tolerancia=', @Tolerancia,
        N'; @EsCiclico=', @EsCiclico, N'; @HoraFin=', CONVERT(NVARCHAR(8), @HoraFin),
        N'; @IntervaloEntreEjecuciones=', @IntervaloEntreEjecuciones,
        N'; @FechaInicioVentana=', CONVERT(NVARCHAR(10), @FechaInicioVentana, 23),
        N'; @FechaFinVentana=', CONVERT(NVARCHAR(10), @FechaFinVentana, 23), N'; @Forzar=', @Forzar,
        N'; @Ahora=', CONVERT(NVARCHAR(19), @Ahora, 120)
    );
    BEGIN TRY
        EXEC dbo.CargarProgramacionSAM
            @TipoProgramacion = N'Mensual',
            @Robot = @Robot,
            @Equipos = @Equipos,
            @HoraInicio = @HoraInicio,
            @Tolerancia = @Tolerancia,
            @DiaDelMes = @DiaDelMes,
            @EsCiclico = @EsCiclico,
            @HoraFin = @HoraFin,
            @IntervaloEntreEjecuciones = @IntervaloEntreEjecuciones,
            @FechaInicioVentana = @FechaInicioVentana,
            @FechaFinVentana = @FechaFinVentana,
            @Forzar = @Forzar,
            @Ahora = @Ahora,
            @ProgramacionId = @ProgramacionId OUTPUT;
        SELECT @ProgramacionId AS ProgramacionId;
    END TRY
    BEGIN CATCH
        IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION;
        EXEC dbo.RegistrarErrorSAM @SPNombre = N'dbo.CargarProgramacionMensual', @Parametros = @Parametros;
        THROW;
    END CATCH;
END;
GO

CREATE OR ALTER PROCEDURE dbo.CargarProgramacionEspecifica
    @Robot NVARCHAR(100),
    @Equipos NVARCHAR(MAX),
    @FechaEspecifica DATE,
    @HoraInicio TIME(0),
    @Tolerancia INT = 60,
    @EsCiclico BIT = 0,
    @HoraFin TIME(0) = NULL,
    @IntervaloEntreEjecuciones INT = NULL,
    @FechaInicioVentana DATE = NULL,
    @FechaFinVentana DATE = NULL,
    @Forzar BIT = 0,
    @Ahora DATETIME2(0) = NULL
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;
    DECLARE @ProgramacionId INT;
    IF @Ahora IS NULL SET @Ahora = CONVERT(DATETIME2(0), CONVERT(CHAR(19), GETDATE(), 126));
    DECLARE @Parametros NVARCHAR(MAX) = CONCAT(
        N'@Robot=', @Robot, N'; @Equipos=', @Equipos,
        N'; @FechaEspecifica=', CONVERT(NVARCHAR(10), @FechaEspecifica, 23),
        N'; @HoraInicio=', CONVERT(NVARCHAR(8), @HoraInicio), N'; @Tolerancia=', @Tolerancia,
        N'; @EsCiclico=', @EsCiclico, N'; @HoraFin=', CONVERT(NVARCHAR(8), @HoraFin),
        N'; @IntervaloEntreEjecuciones=', @IntervaloEntreEjecuciones,
        N'; @FechaInicioVentana=', CONVERT(NVARCHAR(10), @FechaInicioVentana, 23),
        N'; @FechaFinVentana=', CONVERT(NVARCHAR(10), @FechaFinVentana, 23), N'; @Forzar=', @Forzar,
        N'; @Ahora=', CONVERT(NVARCHAR(19), @Ahora, 120)
    );
    BEGIN TRY
        EXEC dbo.CargarProgramacionSAM
            @TipoProgramacion = N'Especifica',
            @Robot = @Robot,
            @Equipos = @Equipos,
            @HoraInicio = @HoraInicio,
            @Tolerancia = @Tolerancia,
            @FechaEspecifica = @FechaEspecifica,
            @EsCiclico = @EsCiclico,
            @HoraFin = @HoraFin,
            @IntervaloEntreEjecuciones = @IntervaloEntreEjecuciones,
            @FechaInicioVentana = @FechaInicioVentana,
            @FechaFinVentana = @FechaFinVentana,
            @Forzar = @Forzar,
            @Ahora = @Ahora,
            @ProgramacionId = @ProgramacionId OUTPUT;
        SELECT @ProgramacionId AS ProgramacionId;
    END TRY
    BEGIN CATCH
        IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION;
        EXEC dbo.RegistrarErrorSAM @SPNombre = N'dbo.CargarProgramacionEspecifica', @Parametros = @Parametros;
        THROW;
    END CATCH;
END;
GO

-- RangoMensual (L7.1): every day @DiaInicioMes..@DiaFinMes (clamped to the month's end) or the last
-- @UltimosDiasMes days of each month; exactly one of the two forms.
CREATE OR ALTER PROCEDURE dbo.CargarProgramacionRangoMensual
    @Robot NVARCHAR(100),
    @Equipos NVARCHAR(MAX),
    @HoraInicio TIME(0),
    @DiaInicioMes INT = NULL,
    @DiaFinMes INT = NULL,
    @UltimosDiasMes INT = NULL,
    @Tolerancia INT = 60,
    @EsCiclico BIT = 0,
    @HoraFin TIME(0) = NULL,
    @IntervaloEntreEjecuciones INT = NULL,
    @FechaInicioVentana DATE = NULL,
    @FechaFinVentana DATE = NULL,
    @Forzar BIT = 0,
    @Ahora DATETIME2(0) = NULL
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;
    DECLARE @ProgramacionId INT;
    IF @Ahora IS NULL SET @Ahora = CONVERT(DATETIME2(0), CONVERT(CHAR(19), GETDATE(), 126));
    DECLARE @Parametros NVARCHAR(MAX) = CONCAT(
        N'@Robot=', @Robot, N'; @Equipos=', @Equipos,
        N'; @DiaInicioMes=', @DiaInicioMes, N'; @DiaFinMes=', @DiaFinMes, N'; @UltimosDiasMes=', @UltimosDiasMes,
        N'; @HoraInicio=', CONVERT(NVARCHAR(8), @HoraInicio), N'; @Tolerancia=', @Tolerancia,
        N'; @EsCiclico=', @EsCiclico, N'; @HoraFin=', CONVERT(NVARCHAR(8), @HoraFin),
        N'; @IntervaloEntreEjecuciones=', @IntervaloEntreEjecuciones,
        N'; @FechaInicioVentana=', CONVERT(NVARCHAR(10), @FechaInicioVentana, 23),
        N'; @FechaFinVentana=', CONVERT(NVARCHAR(10), @FechaFinVentana, 23), N'; @Forzar=', @Forzar,
        N'; @Ahora=', CONVERT(NVARCHAR(19), @Ahora, 120)
    );
    BEGIN TRY
        EXEC dbo.CargarProgramacionSAM
            @TipoProgramacion = N'RangoMensual',
            @Robot = @Robot,
            @Equipos = @Equipos,
            @HoraInicio = @HoraInicio,
            @Tolerancia = @Tolerancia,
            @DiaInicioMes = @DiaInicioMes,
            @DiaFinMes = @DiaFinMes,
            @UltimosDiasMes = @UltimosDiasMes,
            @EsCiclico = @EsCiclico,
            @HoraFin = @HoraFin,
            @IntervaloEntreEjecuciones = @IntervaloEntreEjecuciones,
            @FechaInicioVentana = @FechaInicioVentana,
            @FechaFinVentana = @FechaFinVentana,
            @Forzar = @Forzar,
            @Ahora = @Ahora,
            @ProgramacionId = @ProgramacionId OUTPUT;
        SELECT @ProgramacionId AS ProgramacionId;
    END TRY
    BEGIN CATCH
        IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION;
        EXEC dbo.RegistrarErrorSAM @SPNombre = N'dbo.CargarProgramacionRangoMensual', @Parametros = @Parametros;
        THROW;
    END CATCH;
END;
GO

-- Changes the definition of schedule @ProgramacionId; its robot and equipos stay. The new definition
-- replaces the old one whole (a parameter left out takes its default), checked as
-- dbo.CargarProgramacionSAM does (a FechaEspecifica in the past only refused when it changes) and,
-- when the schedule is active, for overlaps on its equipos (BEHAVIOUR L7.4): refused naming each
-- conflict, or saved anyway with @Forzar = 1. @FechaActualizacionEsperada is the FechaActualizacion
-- the caller read: when the row changed since, nothing is saved. Every change leaves an Auditoria row.
CREATE OR ALTER PROCEDURE dbo.ActualizarProgramacion
    @ProgramacionId INT,
    @TipoProgramacion NVARCHAR(20),
    @HoraInicio TIME(0),
    @Tolerancia INT = 60,
    @DiaSemana NVARCHAR(50) = NULL,
    @DiaDelMes INT = NULL,
    @FechaEspecifica DATE = NULL,
    @EsCiclico BIT = 0,
    @HoraFin TIME(0) = NULL,
    @IntervaloEntreEjecuciones INT = NULL,
    @FechaInicioVentana DATE = NULL,
    @FechaFinVentana DATE = NULL,
    @DiaInicioMes INT = NULL,
    @DiaFinMes INT = NULL,
    @UltimosDiasMes INT = NULL,
    @Forzar BIT = 0,
    @FechaActualizacionEsperada DATETIME2(3) = NULL,
    @Ahora DATETIME2(0) = NULL
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;
    IF @Ahora IS NULL SET @Ahora = CONVERT(DATETIME2(0), CONVERT(CHAR(19), GETDATE(), 126));
    DECLARE @Parametros NVARCHAR(MAX) = CONCAT(
        N'@ProgramacionId=', @ProgramacionId, N'; @TipoProgramacion=', @TipoProgramacion,
        N'; @HoraInicio=', CONVERT(NVARCHAR(8), @HoraInicio), N'; @Tolerancia=', @Tolerancia,
        N'; @DiaSemana=', @DiaSemana, N'; @DiaDelMes=', @DiaDelMes,
        N'; @FechaEspecifica=', CONVERT(NVARCHAR(10), @FechaEspecifica, 23),
        N'; @EsCiclico=', @EsCiclico, N'; @HoraFin=', CONVERT(NVARCHAR(8), @HoraFin),
        N'; @IntervaloEntreEjecuciones=', @IntervaloEntreEjecuciones,
        N'; @FechaInicioVentana=', CONVERT(NVARCHAR(10), @FechaInicioVentana, 23),
        N'; @FechaFinVentana=', CONVERT(NVARCHAR(10), @FechaFinVentana, 23),
        N'; @DiaInicioMes=', @DiaInicioMes, N'; @DiaFinMes=', @DiaFinMes, N'; @UltimosDiasMes=', @UltimosDiasMes,
        N'; @Forzar=', @Forzar,
        N'; @FechaActualizacionEsperada=', CONVERT(NVARCHAR(23), @FechaActualizacionEsperada, 121),
        N'; @Ahora=', CONVERT(NVARCHAR(19), @Ahora, 120)
    );
    -- Optimistic concurrency: both sides DATETIME2(3), the column's own type.
    DECLARE @Esperada DATETIME2(3) = @FechaActualizacionEsperada;
    DECLARE @Marca DATETIME2(3) = @Ahora;
    DECLARE @RobotId INT;
    DECLARE @Activo BIT;
    DECLARE @FechaActual DATETIME2(3);
    DECLARE @FechaAnterior DATE;
    DECLARE @ComprobarFechaPasada BIT;
    DECLARE @Dias NVARCHAR(50);
    DECLARE @Lista NVARCHAR(MAX);
    DECLARE @Solapes NVARCHAR(MAX);
    DECLARE @Antes NVARCHAR(MAX);
    DECLARE @Despues NVARCHAR(MAX);
    DECLARE @Mensaje NVARCHAR(2048);
    SET @EsCiclico = ISNULL(@EsCiclico, 0);
    BEGIN TRY
        BEGIN TRANSACTION;
        SELECT
            @RobotId = p.RobotId,
            @Activo = p.Activo,
            @FechaActual = p.FechaActualizacion,
            @FechaAnterior = p.FechaEspecifica
        FROM dbo.Programaciones AS p WITH (UPDLOCK, HOLDLOCK)
        WHERE p.ProgramacionId = @ProgramacionId;
        IF @RobotId IS NULL
        BEGIN
            SET @Mensaje = CONCAT(N'La programación ', @ProgramacionId, N' no existe.');
            THROW 50041, @Mensaje, 1;
        END;
        IF @Esperada IS NOT NULL AND @FechaActual <> @Esperada
        BEGIN
            SET @Mensaje = CONCAT(
                N'La programación ', @ProgramacionId, N' cambió el ', CONVERT(NVARCHAR(19), @FechaActual, 120),
                N' después de que usted la leyera; vuelva a leerla: no se ha guardado nada.'
            );
            THROW 50042, @Mensaje, 1;
        END;

        SET @ComprobarFechaPasada = CASE
            WHEN @FechaAnterior IS NULL OR @FechaEspecifica IS NULL OR @FechaAnterior <> @FechaEspecifica THEN 1
            ELSE 0
        END;
        EXEC dbo.ValidarProgramacionSAM
            @TipoProgramacion = @TipoProgramacion,
            @HoraInicio = @HoraInicio,
            @Tolerancia = @Tolerancia,
            @DiaSemana = @DiaSemana,
            @DiaDelMes = @DiaDelMes,
            @FechaEspecifica = @FechaEspecifica,
            @EsCiclico = @EsCiclico,
            @HoraFin = @HoraFin,
            @IntervaloEntreEjecuciones = @IntervaloEntreEjecuciones,
            @FechaInicioVentana = @FechaInicioVentana,
            @FechaFinVentana = @FechaFinVentana,
            @DiaInicioMes = @DiaInicioMes OUTPUT,
            @DiaFinMes = @DiaFinMes OUTPUT,
            @UltimosDiasMes = @UltimosDiasMes OUTPUT,
            @Ahora = @Ahora,
            @ComprobarFechaPasada = @ComprobarFechaPasada,
            @DiaSemanaNormalizado = @Dias OUTPUT;
        -- The type's canonical spelling, as the CargarProgramacion* wrappers store it.
        SET @TipoProgramacion = CASE UPPER(@TipoProgramacion)
            WHEN N'DIARIA' THEN N'Diaria' WHEN N'SEMANAL' THEN N'Semanal' WHEN N'MENSUAL' THEN N'Mensual'
            WHEN N'ESPECIFICA' THEN N'Especifica' ELSE N'RangoMensual'
        END;

        SET @Antes = (
            SELECT
                p.ProgramacionId, p.RobotId, p.TipoProgramacion, p.HoraInicio, p.HoraFin, p.Tolerancia, p.DiaSemana,
                p.DiaDelMes, p.FechaEspecifica, p.EsCiclico, p.FechaInicioVentana, p.FechaFinVentana,
                p.IntervaloEntreEjecuciones, p.DiaInicioMes, p.DiaFinMes, p.UltimosDiasMes, p.Activo,
                p.FechaActualizacion
            FROM dbo.Programaciones AS p
            WHERE p.ProgramacionId = @ProgramacionId
            FOR JSON PATH, WITHOUT_ARRAY_WRAPPER, INCLUDE_NULL_VALUES
        );

        -- L7.4: an active schedule is checked on the equipos it serves (its own assignments and the
        -- robot's shared ones); an inactive one is never due, so it cannot overlap.
        CREATE TABLE #EquiposSolicitados (Nombre NVARCHAR(100) COLLATE DATABASE_DEFAULT NOT NULL, EquipoId INT NULL);
        CREATE TABLE #Solapes (
            EquipoId INT NOT NULL, ProgramacionA INT NOT NULL, ProgramacionB INT NOT NULL,
            Desde DATETIME2(0) NOT NULL, Hasta DATETIME2(0) NOT NULL
        );
        IF @Activo = 1
        BEGIN
            INSERT INTO #EquiposSolicitados (Nombre, EquipoId)
            SELECT DISTINCT e.Equipo, e.EquipoId
            FROM dbo.Asignaciones AS a WITH (UPDLOCK, HOLDLOCK)
            INNER JOIN dbo.Equipos AS e ON e.EquipoId = a.EquipoId
            WHERE
                a.EsProgramado = 1
                AND (a.ProgramacionId = @ProgramacionId OR (a.ProgramacionId IS NULL AND a.RobotId = @RobotId));

            EXEC dbo.SolapesProgramacionSAM
                @RobotId = @RobotId,
                @ProgramacionId = @ProgramacionId,
                @Asignar = 0,
                @TipoProgramacion = @TipoProgramacion,
                @HoraInicio = @HoraInicio,
                @Tolerancia = @Tolerancia,
                @DiaSemana = @Dias,
                @DiaDelMes = @DiaDelMes,
                @FechaEspecifica = @FechaEspecifica,
                @EsCiclico = @EsCiclico,
                @HoraFin = @HoraFin,
                @IntervaloEntreEjecuciones = @IntervaloEntreEjecuciones,
                @FechaInicioVentana = @FechaInicioVentana,
                @FechaFinVentana = @FechaFinVentana,
                @DiaInicioMes = @DiaInicioMes,
                @DiaFinMes = @DiaFinMes,
                @UltimosDiasMes = @UltimosDiasMes,
                @Desde = @Ahora;
        END;

        IF EXISTS (SELECT 1 FROM #Solapes)
        BEGIN
            EXEC dbo.DescribirSolapesSAM @Lista = @Lista OUTPUT;
            IF ISNULL(@Forzar, 0) = 0
            BEGIN
                SET @Mensaje = LEFT(CONCAT(
                    N'La programación se solapa con otras programaciones activas de sus equipos:', @Lista,
                    NCHAR(10), N'Use @Forzar = 1 para guardarla igualmente (queda en dbo.Auditoria).'
                ), 2000);
                THROW 50040, @Mensaje, 1;
            END;
            SET @Solapes = (
                SELECT s.EquipoId, s.ProgramacionA, s.ProgramacionB, s.Desde, s.Hasta
                FROM #Solapes AS s
                ORDER BY s.Desde
                FOR JSON PATH
            );
        END;

        UPDATE dbo.Programaciones
        SET
            TipoProgramacion = @TipoProgramacion,
            HoraInicio = @HoraInicio,
            DiaSemana = @Dias,
            DiaDelMes = CASE WHEN @TipoProgramacion = N'Mensual' THEN @DiaDelMes END,
            FechaEspecifica = CASE WHEN @TipoProgramacion = N'Especifica' THEN @FechaEspecifica END,
            Tolerancia = ISNULL(@Tolerancia, 60),
            EsCiclico = @EsCiclico,
            HoraFin = @HoraFin,
            IntervaloEntreEjecuciones = @IntervaloEntreEjecuciones,
            FechaInicioVentana = @FechaInicioVentana,
            FechaFinVentana = @FechaFinVentana,
            DiaInicioMes = @DiaInicioMes,
            DiaFinMes = @DiaFinMes,
            UltimosDiasMes = @UltimosDiasMes,
            FechaActualizacion = @Marca
        WHERE ProgramacionId = @ProgramacionId;

        SET @Despues = (
            SELECT
                p.ProgramacionId, p.RobotId, p.TipoProgramacion, p.HoraInicio, p.HoraFin, p.Tolerancia, p.DiaSemana,
                p.DiaDelMes, p.FechaEspecifica, p.EsCiclico, p.FechaInicioVentana, p.FechaFinVentana,
                p.IntervaloEntreEjecuciones, p.DiaInicioMes, p.DiaFinMes, p.UltimosDiasMes, p.Activo,
                p.FechaActualizacion
            FROM dbo.Programaciones AS p
            WHERE p.ProgramacionId = @ProgramacionId
            FOR JSON PATH, WITHOUT_ARRAY_WRAPPER, INCLUDE_NULL_VALUES
        );
        IF @Solapes IS NOT NULL
            SET @Despues = CONCAT(N'{"Programacion":', @Despues, N',"Solapes":', @Solapes, N'}');
        INSERT INTO dbo.Auditoria (Fecha, Usuario, Rol, Ip, Accion, Entidad, EntidadId, Antes, Despues, Resultado)
        VALUES (
            @Ahora, SUSER_SNAME(), NULL, CONVERT(NVARCHAR(45), CONNECTIONPROPERTY('client_net_address')),
            N'modificar', N'Programaciones', CONVERT(NVARCHAR(100), @ProgramacionId), @Antes, @Despues,
            CASE WHEN @Solapes IS NULL THEN N'ok' ELSE N'forzado' END
        );

        COMMIT TRANSACTION;
        SELECT @ProgramacionId AS ProgramacionId, @Marca AS FechaActualizacion;
    END TRY
    BEGIN CATCH
        IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION;
        EXEC dbo.RegistrarErrorSAM @SPNombre = N'dbo.ActualizarProgramacion', @Parametros = @Parametros;
        THROW;
    END CATCH;
END;
GO

-- Deactivates schedule @ProgramacionId: the Lanzador stops launching it; the row and its equipos
-- stay (dbo.ActualizarProgramacion or the console can change it; reactivating checks overlaps).
CREATE OR ALTER PROCEDURE dbo.DesactivarProgramacion
    @ProgramacionId INT,
    @Ahora DATETIME2(0) = NULL
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;
    IF @Ahora IS NULL SET @Ahora = CONVERT(DATETIME2(0), CONVERT(CHAR(19), GETDATE(), 126));
    DECLARE @Parametros NVARCHAR(MAX) = CONCAT(
        N'@ProgramacionId=', @ProgramacionId, N'; @Ahora=', CONVERT(NVARCHAR(19), @Ahora, 120)
    );
    DECLARE @Marca DATETIME2(3) = @Ahora;
    DECLARE @Activo BIT;
    DECLARE @Mensaje NVARCHAR(2048);
    BEGIN TRY
        BEGIN TRANSACTION;
        SELECT @Activo = p.Activo
        FROM dbo.Programaciones AS p WITH (UPDLOCK, HOLDLOCK)
        WHERE p.ProgramacionId = @ProgramacionId;
        IF @Activo IS NULL
        BEGIN
            SET @Mensaje = CONCAT(N'La programación ', @ProgramacionId, N' no existe.');
            THROW 50041, @Mensaje, 1;
        END;

        UPDATE dbo.Programaciones
        SET Activo = 0, FechaActualizacion = @Marca
        WHERE ProgramacionId = @ProgramacionId;

        INSERT INTO dbo.Auditoria (Fecha, Usuario, Rol, Ip, Accion, Entidad, EntidadId, Antes, Despues, Resultado)
        VALUES (
            @Ahora, SUSER_SNAME(), NULL, CONVERT(NVARCHAR(45), CONNECTIONPROPERTY('client_net_address')),
            N'desactivar', N'Programaciones', CONVERT(NVARCHAR(100), @ProgramacionId),
            CONCAT(N'{"Activo":', CASE WHEN @Activo = 1 THEN N'true' ELSE N'false' END, N'}'),
            N'{"Activo":false}', N'ok'
        );

        COMMIT TRANSACTION;
        SELECT @ProgramacionId AS ProgramacionId, @Marca AS FechaActualizacion;
    END TRY
    BEGIN CATCH
        IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION;
        EXEC dbo.RegistrarErrorSAM @SPNombre = N'dbo.DesactivarProgramacion', @Parametros = @Parametros;
        THROW;
    END CATCH;
END;
GO

-- Deletes schedule @ProgramacionId and the assignments that serve only it (ProgramacionId = its
-- id); shared assignments (ProgramacionId NULL) stay for the robot's other schedules.
CREATE OR ALTER PROCEDURE dbo.EliminarProgramacion
    @ProgramacionId INT,
    @Ahora DATETIME2(0) = NULL
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;
    IF @Ahora IS NULL SET @Ahora = CONVERT(DATETIME2(0), CONVERT(CHAR(19), GETDATE(), 126));
    DECLARE @Parametros NVARCHAR(MAX) = CONCAT(
        N'@ProgramacionId=', @ProgramacionId, N'; @Ahora=', CONVERT(NVARCHAR(19), @Ahora, 120)
    );
    DECLARE @RobotId INT;
    DECLARE @Fila NVARCHAR(MAX);
    DECLARE @Equipos NVARCHAR(MAX);
    DECLARE @Quitadas INT;
    DECLARE @Mensaje NVARCHAR(2048);
    BEGIN TRY
        BEGIN TRANSACTION;
        SELECT @RobotId = p.RobotId
        FROM dbo.Programaciones AS p WITH (UPDLOCK, HOLDLOCK)
        WHERE p.ProgramacionId = @ProgramacionId;
        IF @RobotId IS NULL
        BEGIN
            SET @Mensaje = CONCAT(N'La programación ', @ProgramacionId, N' no existe.');
            THROW 50041, @Mensaje, 1;
        END;

        SET @Fila = (
            SELECT
                p.ProgramacionId, p.RobotId, p.TipoProgramacion, p.HoraInicio, p.HoraFin, p.Tolerancia, p.DiaSemana,
                p.DiaDelMes, p.FechaEspecifica, p.EsCiclico, p.FechaInicioVentana, p.FechaFinVentana,
                p.IntervaloEntreEjecuciones, p.DiaInicioMes, p.DiaFinMes, p.UltimosDiasMes, p.Activo,
                p.FechaActualizacion
            FROM dbo.Programaciones AS p
            WHERE p.ProgramacionId = @ProgramacionId
            FOR JSON PATH, WITHOUT_ARRAY_WRAPPER, INCLUDE_NULL_VALUES
        );
        SET @Equipos = (
            SELECT a.EquipoId, a.ProgramacionId
            FROM dbo.Asignaciones AS a WITH (UPDLOCK, HOLDLOCK)
            WHERE
                a.EsProgramado = 1
                AND (a.ProgramacionId = @ProgramacionId OR (a.ProgramacionId IS NULL AND a.RobotId = @RobotId))
            ORDER BY a.EquipoId
            FOR JSON PATH, INCLUDE_NULL_VALUES
        );

        DELETE FROM dbo.Asignaciones WHERE ProgramacionId = @ProgramacionId;
        SET @Quitadas = @@ROWCOUNT;
        DELETE FROM dbo.Programaciones WHERE ProgramacionId = @ProgramacionId;

        INSERT INTO dbo.Auditoria (Fecha, Usuario, Rol, Ip, Accion, Entidad, EntidadId, Antes, Despues, Resultado)
        VALUES (
            @Ahora, SUSER_SNAME(), NULL, CONVERT(NVARCHAR(45), CONNECTIONPROPERTY('client_net_address')),
            N'eliminar', N'Programaciones', CONVERT(NVARCHAR(100), @ProgramacionId),
            CONCAT(N'{"Programacion":', @Fila, N',"Equipos":', ISNULL(@Equipos, N'[]'), N'}'), NULL, N'ok'
        );

        COMMIT TRANSACTION;
        SELECT @ProgramacionId AS ProgramacionId, @Quitadas AS AsignacionesQuitadas;
    END TRY
    BEGIN CATCH
        IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION;
        EXEC dbo.RegistrarErrorSAM @SPNombre = N'dbo.EliminarProgramacion', @Parametros = @Parametros;
        THROW;
    END CATCH;
END;
GO

-- ---------------------------------------------------------------------------------------------
-- Procedimientos del Lanzador (dbo.ObtenerRobotsEjecutables)
-- ---------------------------------------------------------------------------------------------
-- dbo.ObtenerRobotsEjecutables: what the Lanzador launches now (BEHAVIOUR L2). Canonical copy
-- and its SQLite twin: lanzador/database/seleccion.py (generated there: python -m lanzador.database.seleccion).
CREATE OR ALTER PROCEDURE dbo.ObtenerRobotsEjecutables
    @Ahora DATETIME2 = NULL,
    @EsperaTrasFalloSeg INT = 300,
    @ToleranciaUnknownMin INT = 120,
    @ToleranciaDefectoMin INT = 60
AS
BEGIN
    SET NOCOUNT ON;
    IF @Ahora IS NULL SET @Ahora = CAST(GETDATE() AS DATETIME2);
    -- Whole seconds, as the SQLite twin compares (style 120 has no fraction: a truncation).
    SET @Ahora = CONVERT(DATETIME2(0), CONVERT(CHAR(19), @Ahora, 120), 120);
    DECLARE @Hoy DATE = CAST(@Ahora AS DATE);
    DECLARE @Ayer DATE = DATEADD(DAY, -1, CAST(@Ahora AS DATE));
    -- A failure blocks while its whole second is inside the wait: SQLite's datetime(x) > limit,
    -- with a whole-second limit, is x >= limit + 1 s.
    DECLARE @DesdeFallo DATETIME2 = DATEADD(SECOND, 1 - @EsperaTrasFalloSeg, @Ahora);
    DECLARE @LimiteUnknown DATETIME2 = DATEADD(MINUTE, -@ToleranciaUnknownMin, @Ahora);

    BEGIN TRY
        WITH EquiposLibres AS (
            SELECT eq.EquipoId, eq.UserId
            FROM dbo.Equipos AS eq
            WHERE eq.Activo_SAM = 1
              AND eq.EstadoA360 = N'CONNECTED'
              AND eq.UsuarioActivoA360 = 1
              AND eq.UserId IS NOT NULL
              AND NOT EXISTS (
                  SELECT 1
                  FROM dbo.Ejecuciones AS e
                  WHERE e.EquipoId = eq.EquipoId
                    AND e.FechaFin IS NULL AND e.Estado NOT IN ('COMPLETED','DEPLOY_FAILED','RUN_ABORTED','RUN_COMPLETED','RUN_FAILED','RUN_TIMED_OUT') AND NOT (e.Estado = N'UNKNOWN' AND COALESCE(e.FechaActualizacion, e.FechaInicio) < @LimiteUnknown)
              )
        ),
        Dias AS (
            SELECT @Hoy AS Dia
            UNION ALL
            SELECT @Ayer AS Dia
        ),
        Progs AS (
            SELECT p.ProgramacionId, p.RobotId, p.TipoProgramacion, p.HoraInicio, p.HoraFin, p.Tolerancia, p.DiaSemana, p.DiaDelMes, p.FechaEspecifica, p.EsCiclico, p.FechaInicioVentana, p.FechaFinVentana, p.IntervaloEntreEjecuciones, p.DiaInicioMes, p.DiaFinMes, p.UltimosDiasMes, p.Activo,
                   N' ' + REPLACE(REPLACE(REPLACE(REPLACE(UPPER(COALESCE(p.DiaSemana, N'')),
                              NCHAR(193), N'A'), N',', N' '), N';', N' '), CHAR(9), N' ') + N' ' AS DiasNorm
            FROM dbo.Programaciones AS p
            WHERE p.Activo = 1
        ),
        Slots AS (
            SELECT
                a.RobotId,
                a.EquipoId,
                el.UserId,
                p.HoraInicio,
                d.Dia,
                DATEADD(SECOND, DATEDIFF(SECOND, CAST('00:00:00' AS TIME), p.HoraInicio),
                        CAST(d.Dia AS DATETIME2)) AS Inicio,
                -- L7.3: a cyclic window ends at HoraFin (the next day when not after HoraInicio),
                -- excluded; a one-shot window (or a cyclic one without HoraFin) at start + tolerance.
                CASE WHEN p.EsCiclico = 1 AND p.HoraFin IS NOT NULL
                     THEN DATEADD(SECOND, DATEDIFF(SECOND, CAST('00:00:00' AS TIME), p.HoraFin), CAST(
                          CASE WHEN DATEDIFF(SECOND, CAST('00:00:00' AS TIME), p.HoraFin) < DATEDIFF(SECOND, CAST('00:00:00' AS TIME), p.HoraInicio)
                               THEN DATEADD(DAY, 1, d.Dia) ELSE d.Dia END AS DATETIME2))
                     ELSE DATEADD(MINUTE, CASE WHEN p.Tolerancia IS NULL THEN @ToleranciaDefectoMin WHEN p.Tolerancia BETWEEN 0 AND 1440 THEN p.Tolerancia ELSE 0 END,
                                  DATEADD(SECOND, DATEDIFF(SECOND, CAST('00:00:00' AS TIME), p.HoraInicio), CAST(d.Dia AS DATETIME2)))
                END AS Fin,
                CASE WHEN p.EsCiclico = 1 THEN 1 ELSE 0 END AS Ciclico,
                -- Bounded (0..10080) so the DATEADDs below can never overflow.
                CASE WHEN p.IntervaloEntreEjecuciones BETWEEN 0 AND 10080 THEN p.IntervaloEntreEjecuciones ELSE 0 END AS IntervaloMin
            FROM dbo.Asignaciones AS a
            INNER JOIN dbo.Robots AS r ON r.RobotId = a.RobotId
            INNER JOIN EquiposLibres AS el ON el.EquipoId = a.EquipoId
            INNER JOIN Progs AS p
                ON p.RobotId = a.RobotId
               AND (a.ProgramacionId IS NULL OR a.ProgramacionId = p.ProgramacionId)
            CROSS JOIN Dias AS d
            WHERE a.EsProgramado = 1
              AND r.Activo = 1
              AND r.ExisteEnA360 = 1
              AND (UPPER(p.TipoProgramacion) IN (N'DIARIA', N'SEMANAL', N'MENSUAL', N'ESPECIFICA', N'RANGOMENSUAL')
                  AND p.HoraInicio IS NOT NULL
                  AND (p.Tolerancia IS NULL OR p.Tolerancia BETWEEN 0 AND 1440)
                  AND (p.EsCiclico = 1 OR (p.HoraFin IS NULL AND p.IntervaloEntreEjecuciones IS NULL))
                  AND (p.IntervaloEntreEjecuciones IS NULL
                       OR p.IntervaloEntreEjecuciones BETWEEN 0 AND 10080)
                  AND (p.HoraFin IS NULL OR DATEDIFF(SECOND, CAST('00:00:00' AS TIME), p.HoraFin) <> DATEDIFF(SECOND, CAST('00:00:00' AS TIME), p.HoraInicio))
                  AND (p.FechaInicioVentana IS NULL OR p.FechaFinVentana IS NULL
                       OR p.FechaFinVentana >= p.FechaInicioVentana)
                  AND (UPPER(p.TipoProgramacion) <> N'SEMANAL' OR (
                      p.DiasNorm LIKE N'% LU %' OR p.DiasNorm LIKE N'% MA %' OR p.DiasNorm LIKE N'% MI %' OR p.DiasNorm LIKE N'% JU %' OR p.DiasNorm LIKE N'% VI %' OR p.DiasNorm LIKE N'% SA %' OR p.DiasNorm LIKE N'% DO %'))
                  AND (UPPER(p.TipoProgramacion) <> N'MENSUAL' OR p.DiaDelMes BETWEEN 1 AND 31)
                  AND (UPPER(p.TipoProgramacion) <> N'ESPECIFICA' OR p.FechaEspecifica IS NOT NULL)
                  AND (UPPER(p.TipoProgramacion) <> N'RANGOMENSUAL'
                       OR (p.UltimosDiasMes IS NULL AND p.DiaInicioMes BETWEEN 1 AND 31
                           AND p.DiaFinMes BETWEEN 1 AND 31 AND p.DiaInicioMes <= p.DiaFinMes)
                       OR (p.UltimosDiasMes BETWEEN 1 AND 31 AND p.DiaInicioMes IS NULL AND p.DiaFinMes IS NULL)))
              AND (p.FechaInicioVentana IS NULL OR d.Dia >= p.FechaInicioVentana)
              AND (p.FechaFinVentana IS NULL OR d.Dia <= p.FechaFinVentana)
              AND (
                  UPPER(p.TipoProgramacion) = N'DIARIA'
                  OR (UPPER(p.TipoProgramacion) = N'SEMANAL' AND p.DiasNorm LIKE N'% ' + CASE DATEDIFF(DAY, CAST('19000101' AS DATE), d.Dia) % 7
                              WHEN 0 THEN N'LU' WHEN 1 THEN N'MA' WHEN 2 THEN N'MI'
                              WHEN 3 THEN N'JU' WHEN 4 THEN N'VI' WHEN 5 THEN N'SA'
                              ELSE N'DO' END + N' %')
                  OR (UPPER(p.TipoProgramacion) = N'MENSUAL' AND DAY(d.Dia) = CASE WHEN p.DiaDelMes > DAY(EOMONTH(d.Dia)) THEN DAY(EOMONTH(d.Dia)) ELSE p.DiaDelMes END)
                  OR (UPPER(p.TipoProgramacion) = N'ESPECIFICA' AND p.FechaEspecifica = d.Dia)
                  OR (UPPER(p.TipoProgramacion) = N'RANGOMENSUAL' AND (
                      (p.UltimosDiasMes IS NOT NULL AND DAY(d.Dia) > DAY(EOMONTH(d.Dia)) - p.UltimosDiasMes)
                      OR (p.UltimosDiasMes IS NULL
                          AND DAY(d.Dia) >= CASE WHEN p.DiaInicioMes > DAY(EOMONTH(d.Dia)) THEN DAY(EOMONTH(d.Dia)) ELSE p.DiaInicioMes END
                          AND DAY(d.Dia) <= CASE WHEN p.DiaFinMes > DAY(EOMONTH(d.Dia)) THEN DAY(EOMONTH(d.Dia)) ELSE p.DiaFinMes END)
                  ))
              )
        ),
        Programados AS (
            SELECT s.RobotId, s.EquipoId, s.UserId, s.HoraInicio AS Hora,
                   CAST(1 AS BIT) AS EsProgramado, s.Dia AS FechaSlot, s.Inicio AS Orden
            FROM Slots AS s
            WHERE @Ahora >= s.Inicio
              AND (@Ahora < s.Fin OR (s.Ciclico = 0 AND @Ahora = s.Fin))
              -- L2.1 one-shot: once per slot.
              AND (s.Ciclico = 1 OR NOT EXISTS (
                  SELECT 1 FROM dbo.Ejecuciones AS e
                  WHERE e.RobotId = s.RobotId AND e.EquipoId = s.EquipoId
                    AND e.FechaSlot = s.Dia AND e.Hora = s.HoraInicio
              ))
              -- L7.3 cyclic: IntervaloEntreEjecuciones minutes since the pair's last end (or start of
              -- a run that never ended), compared at whole seconds as the SQLite twin does.
              AND (s.Ciclico = 0 OR (
                  NOT EXISTS (
                      SELECT 1 FROM dbo.Ejecuciones AS e
                      WHERE e.RobotId = s.RobotId AND e.EquipoId = s.EquipoId
                        AND e.FechaFin >= DATEADD(MINUTE, -s.IntervaloMin, DATEADD(SECOND, 1, @Ahora))
                  )
                  AND NOT EXISTS (
                      SELECT 1 FROM dbo.Ejecuciones AS e
                      WHERE e.FechaFin IS NULL
                        AND e.EquipoId = s.EquipoId AND e.RobotId = s.RobotId
                        AND e.FechaInicio >= DATEADD(MINUTE, -s.IntervaloMin, DATEADD(SECOND, 1, @Ahora))
                  )
              ))
              AND NOT EXISTS (
                  SELECT 1 FROM dbo.Ejecuciones AS e
                  WHERE e.RobotId = s.RobotId AND e.EquipoId = s.EquipoId
                    AND e.FechaFin >= @DesdeFallo
                    AND e.Estado = N'DEPLOY_FAILED'
                    AND (e.MensajeError IS NULL OR e.MensajeError NOT LIKE N'A360 no disponible: %')
              )
              AND NOT EXISTS (
                  SELECT 1 FROM dbo.Ejecuciones AS e
                  WHERE e.FechaFin IS NULL
                    AND e.EquipoId = s.EquipoId AND e.RobotId = s.RobotId
                    AND e.Estado = N'DEPLOY_FAILED'
                    AND COALESCE(e.FechaActualizacion, e.FechaInicio) >= @DesdeFallo
                    AND (e.MensajeError IS NULL OR e.MensajeError NOT LIKE N'A360 no disponible: %')
              )
        ),
        Online AS (
            SELECT a.RobotId, a.EquipoId, el.UserId, CAST(NULL AS TIME) AS Hora,
                   CAST(0 AS BIT) AS EsProgramado, CAST(NULL AS DATE) AS FechaSlot,
                   COALESCE((
                       SELECT CONVERT(DATETIME2(0), CONVERT(CHAR(19), MAX(u.Fecha), 120), 120)
                       FROM (
                           SELECT MAX(e.FechaFin) AS Fecha
                           FROM dbo.Ejecuciones AS e
                           WHERE e.RobotId = a.RobotId AND e.EquipoId = a.EquipoId
                           UNION ALL
                           SELECT MAX(e.FechaInicio) AS Fecha
                           FROM dbo.Ejecuciones AS e
                           WHERE e.FechaFin IS NULL
                             AND e.EquipoId = a.EquipoId AND e.RobotId = a.RobotId
                       ) AS u
                   ), CAST('00010101' AS DATETIME2)) AS Orden
            FROM dbo.Asignaciones AS a
            INNER JOIN dbo.Robots AS r ON r.RobotId = a.RobotId
            INNER JOIN EquiposLibres AS el ON el.EquipoId = a.EquipoId
            WHERE a.EsProgramado = 0
              AND r.EsOnline = 1
              AND r.Activo = 1
              AND r.ExisteEnA360 = 1
              AND NOT EXISTS (
                  SELECT 1 FROM dbo.Ejecuciones AS e
                  WHERE e.RobotId = a.RobotId AND e.EquipoId = a.EquipoId
                    AND e.FechaFin >= @DesdeFallo
                    AND e.Estado = N'DEPLOY_FAILED'
                    AND (e.MensajeError IS NULL OR e.MensajeError NOT LIKE N'A360 no disponible: %')
              )
              AND NOT EXISTS (
                  SELECT 1 FROM dbo.Ejecuciones AS e
                  WHERE e.FechaFin IS NULL
                    AND e.EquipoId = a.EquipoId AND e.RobotId = a.RobotId
                    AND e.Estado = N'DEPLOY_FAILED'
                    AND COALESCE(e.FechaActualizacion, e.FechaInicio) >= @DesdeFallo
                    AND (e.MensajeError IS NULL OR e.MensajeError NOT LIKE N'A360 no disponible: %')
              )
        ),
        Candidatos AS (
            SELECT c.RobotId, c.EquipoId, c.UserId, c.Hora, c.EsProgramado, c.FechaSlot,
                   ROW_NUMBER() OVER (
                       PARTITION BY c.EquipoId
                       ORDER BY c.EsProgramado DESC, c.Orden ASC, c.RobotId ASC
                   ) AS Fila
            FROM (
                SELECT RobotId, EquipoId, UserId, Hora, EsProgramado, FechaSlot, Orden FROM Programados
                UNION ALL
                SELECT RobotId, EquipoId, UserId, Hora, EsProgramado, FechaSlot, Orden FROM Online
            ) AS c
        )
        SELECT RobotId, EquipoId, UserId, Hora, EsProgramado, FechaSlot
        FROM Candidatos
        WHERE Fila = 1
        ORDER BY EsProgramado DESC, EquipoId ASC;
    END TRY
    BEGIN CATCH
        DECLARE @Parametros NVARCHAR(MAX) = CONCAT(
            N'@Ahora=', CONVERT(NVARCHAR(30), @Ahora, 126),
            N'; @EsperaTrasFalloSeg=', @EsperaTrasFalloSeg,
            N'; @ToleranciaUnknownMin=', @ToleranciaUnknownMin,
            N'; @ToleranciaDefectoMin=', @ToleranciaDefectoMin
        );
        EXEC dbo.RegistrarErrorSAM @SPNombre = N'dbo.ObtenerRobotsEjecutables', @Parametros = @Parametros;
        THROW;
    END CATCH;
END;
GO
-- @@PROCEDIMIENTOS_LANZADOR@@

-- ---------------------------------------------------------------------------------------------
-- Mantenimiento: retención del historial de ejecuciones (BEHAVIOUR §14 R2-R3)
--
-- dbo.Mantenimiento_MoverAHistorico: los mismos pasos que el trabajo diario del Lanzador
-- (common/database/mantenimiento.py), para ejecutarlos a mano:
--     SET QUOTED_IDENTIFIER ON;
--     EXEC dbo.Mantenimiento_MoverAHistorico @DiasEjecuciones = 7, @Lote = 5000;
-- 1. mueve a dbo.Ejecuciones_Historico las ejecuciones cerradas (FechaFin IS NOT NULL) con FechaFin
--    anterior a @DiasEjecuciones días, en lotes de @Lote filas: cada lote es una transacción (copia
--    los ids que aún no están en el histórico y borra de dbo.Ejecuciones exactamente los que ya
--    están), así que interrumpirlo no pierde ni duplica nada y otra ejecución termina el trabajo;
-- 2. borra, también en lotes, el histórico con FechaFin anterior a @DiasHistorico días (0 = no se
--    borra), los callbacks aplicados anteriores a @DiasCallbacks días y dbo.HistoricoBalanceo
--    anterior a @DiasBalanceo días;
-- 3. anota el día en dbo.Mantenimiento (el Lanzador no lo repite ese día).
-- Entre lotes espera 100 ms (WAITFOR DELAY) para no bloquear al Lanzador. @Ahora: la hora de SAM
-- (SAM_ZONA_HORARIA); NULL = GETDATE() del servidor. Con el registro de transacciones lleno
-- (error 9002) se detiene con un mensaje que dice qué hacer.
-- ---------------------------------------------------------------------------------------------
SET QUOTED_IDENTIFIER ON;
GO
CREATE OR ALTER PROCEDURE dbo.Mantenimiento_MoverAHistorico
    @DiasEjecuciones INT = 7,
    @DiasHistorico INT = 365,
    @Lote INT = 5000,
    @DiasCallbacks INT = 30,
    @DiasBalanceo INT = 365,
    @Ahora DATETIME2(3) = NULL
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;
    DECLARE @Momento DATETIME2(3) = COALESCE(@Ahora, CAST(GETDATE() AS DATETIME2(3)));
    DECLARE @Limite DATETIME2(3);
    DECLARE @Filas INT;
    DECLARE @Movidas INT = 0;
    DECLARE @HistoricoPurgadas INT = 0;
    DECLARE @CallbacksPurgados INT = 0;
    DECLARE @BalanceoPurgados INT = 0;
    DECLARE @Error INT;
    DECLARE @Mensaje NVARCHAR(2048);
    DECLARE @Parametros NVARCHAR(MAX);
    DECLARE @Ids TABLE (EjecucionId INT NOT NULL PRIMARY KEY);
    BEGIN TRY
        IF @DiasEjecuciones IS NULL OR @DiasEjecuciones < 1
            THROW 50000, N'@DiasEjecuciones debe ser 1 o mayor.', 1;
        IF @DiasHistorico IS NULL OR @DiasHistorico < 0
            THROW 50000, N'@DiasHistorico debe ser 0 (conservar siempre) o mayor.', 1;
        IF @Lote IS NULL OR @Lote < 1
            THROW 50000, N'@Lote debe ser 1 o mayor.', 1;
        IF @DiasCallbacks IS NULL OR @DiasCallbacks < 1 OR @DiasBalanceo IS NULL OR @DiasBalanceo < 1
            THROW 50000, N'@DiasCallbacks y @DiasBalanceo deben ser 1 o mayores.', 1;

        -- 1. Ejecuciones cerradas -> dbo.Ejecuciones_Historico, un lote por transacción.
        SET @Limite = DATEADD(DAY, -@DiasEjecuciones, @Momento);
        SET @Filas = 1;
        WHILE @Filas > 0
        BEGIN
            DELETE FROM @Ids;
            BEGIN TRANSACTION;
            INSERT INTO @Ids (EjecucionId)
            SELECT TOP (@Lote) x.EjecucionId
            FROM dbo.Ejecuciones AS x WITH (UPDLOCK, HOLDLOCK)
            WHERE x.FechaFin IS NOT NULL AND x.FechaFin < @Limite
            ORDER BY x.EjecucionId;
            INSERT INTO dbo.Ejecuciones_Historico (
                EjecucionId, DeploymentId, RobotId, EquipoId, UserId, Hora, FechaInicio, FechaFin, Estado,
                FechaActualizacion, CallbackInfo, MensajeError, FechaSlot, RondasNoEncontrado,
                AlertaDuracionEnviada, ClaveIntento, FalloSinConfirmar,
                FechaMovimiento
            )
            SELECT
                e.EjecucionId, e.DeploymentId, e.RobotId, e.EquipoId, e.UserId, e.Hora, e.FechaInicio, e.FechaFin,
                e.Estado, e.FechaActualizacion, e.CallbackInfo, e.MensajeError, e.FechaSlot,
                e.RondasNoEncontrado, e.AlertaDuracionEnviada, e.ClaveIntento, e.FalloSinConfirmar,
                @Momento
            FROM dbo.Ejecuciones AS e
            INNER JOIN @Ids AS i ON i.EjecucionId = e.EjecucionId
            WHERE NOT EXISTS (
                SELECT 1 FROM dbo.Ejecuciones_Historico AS h WITH (UPDLOCK, HOLDLOCK)
                WHERE h.EjecucionId = e.EjecucionId
            );
            DELETE FROM dbo.Ejecuciones
            WHERE EjecucionId IN (
                SELECT h.EjecucionId
                FROM dbo.Ejecuciones_Historico AS h WITH (UPDLOCK, HOLDLOCK)
                INNER JOIN @Ids AS i ON i.EjecucionId = h.EjecucionId
            );
            SET @Filas = @@ROWCOUNT;
            COMMIT TRANSACTION;
            SET @Movidas = @Movidas + @Filas;
            IF @Filas > 0 WAITFOR DELAY '00:00:00.100';
        END;

        -- 2. Purgas en lotes (cada DELETE es su propia transacción).
        IF @DiasHistorico > 0
        BEGIN
            SET @Limite = DATEADD(DAY, -@DiasHistorico, @Momento);
            SET @Filas = 1;
            WHILE @Filas > 0
            BEGIN
                DELETE FROM dbo.Ejecuciones_Historico
                WHERE EjecucionId IN (
                    SELECT TOP (@Lote) h.EjecucionId FROM dbo.Ejecuciones_Historico AS h
                    WHERE h.FechaFin < @Limite ORDER BY h.EjecucionId
                );
                SET @Filas = @@ROWCOUNT;
                SET @HistoricoPurgadas = @HistoricoPurgadas + @Filas;
                IF @Filas > 0 WAITFOR DELAY '00:00:00.100';
            END;
        END;
        SET @Limite = DATEADD(DAY, -@DiasCallbacks, @Momento);
        SET @Filas = 1;
        WHILE @Filas > 0
        BEGIN
            DELETE FROM dbo.CallbacksRecibidos
            WHERE CallbackId IN (
                SELECT TOP (@Lote) c.CallbackId FROM dbo.CallbacksRecibidos AS c
                WHERE c.Aplicado = 1 AND c.FechaRecepcion < @Limite ORDER BY c.CallbackId
            );
            SET @Filas = @@ROWCOUNT;
            SET @CallbacksPurgados = @CallbacksPurgados + @Filas;
            IF @Filas > 0 WAITFOR DELAY '00:00:00.100';
        END;
        SET @Limite = DATEADD(DAY, -@DiasBalanceo, @Momento);
        SET @Filas = 1;
        WHILE @Filas > 0
        BEGIN
            DELETE FROM dbo.HistoricoBalanceo
            WHERE HistoricoId IN (
                SELECT TOP (@Lote) b.HistoricoId FROM dbo.HistoricoBalanceo AS b
                WHERE b.FechaBalanceo < @Limite ORDER BY b.HistoricoId
            );
            SET @Filas = @@ROWCOUNT;
            SET @BalanceoPurgados = @BalanceoPurgados + @Filas;
            IF @Filas > 0 WAITFOR DELAY '00:00:00.100';
        END;

        -- 3. El día queda hecho (el Lanzador no lo repite hoy).
        BEGIN TRANSACTION;
        UPDATE dbo.Mantenimiento WITH (UPDLOCK, HOLDLOCK)
        SET UltimaEjecucionCompleta = CAST(@Momento AS DATE), FechaActualizacion = @Momento
        WHERE Tarea = N'historial';
        IF @@ROWCOUNT = 0
            INSERT INTO dbo.Mantenimiento (Tarea, UltimaEjecucionCompleta, FechaActualizacion)
            VALUES (N'historial', CAST(@Momento AS DATE), @Momento);
        COMMIT TRANSACTION;

        PRINT CONCAT(
            N'Mantenimiento del historial: ', @Movidas, N' ejecuciones movidas a dbo.Ejecuciones_Historico; ',
            N'purgadas ', @HistoricoPurgadas, N' del histórico, ', @CallbacksPurgados, N' callbacks aplicados y ',
            @BalanceoPurgados, N' filas de dbo.HistoricoBalanceo.'
        );
        SELECT
            @Movidas AS Movidas,
            @HistoricoPurgadas AS HistoricoPurgadas,
            @CallbacksPurgados AS CallbacksPurgados,
            @BalanceoPurgados AS BalanceoPurgados;
    END TRY
    BEGIN CATCH
        SET @Error = ERROR_NUMBER();
        IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION;
        SET @Parametros = CONCAT(
            N'@DiasEjecuciones=', @DiasEjecuciones, N', @DiasHistorico=', @DiasHistorico, N', @Lote=', @Lote,
            N', @DiasCallbacks=', @DiasCallbacks, N', @DiasBalanceo=', @DiasBalanceo,
            N', @Ahora=', CONVERT(NVARCHAR(30), @Ahora, 121), N', movidas=', @Movidas
        );
        EXEC dbo.RegistrarErrorSAM @SPNombre = N'dbo.Mantenimiento_MoverAHistorico', @Parametros = @Parametros;
        IF @Error = 9002
        BEGIN
            SET @Mensaje = CONCAT(
                N'El registro de transacciones de la base de datos está lleno (error 9002) tras mover ',
                @Movidas, N' ejecuciones: el lote en curso se ha deshecho y no se ha perdido nada. ',
                N'Haga una copia del registro (BACKUP LOG) o amplíelo, y vuelva a ejecutar el ',
                N'procedimiento (con un @Lote menor si hace falta): continúa donde se quedó.'
            );
            THROW 50002, @Mensaje, 1;
        END;
        THROW;
    END CATCH;
END;
GO

PRINT N'Esquema SAM aplicado correctamente.';
GO

-- Always executed, even after a failed check (SET NOEXEC OFF is the one statement NOEXEC runs):
-- the session (SSMS, or a sqlcmd that goes on) is left able to execute again.
SET NOEXEC OFF;
GO
