-- =============================================================================================
-- SAM - Sistema Automático de Robots: esquema de la base de datos SAM (SQL Server)
--
-- Script canónico: crea todas las tablas, claves, índices, vistas y procedimientos.
-- Es idempotente: puede ejecutarse de nuevo sobre una base existente sin daño
-- (IF NOT EXISTS / COL_LENGTH / CREATE OR ALTER). Sobre una base del SAM original añade las
-- columnas nuevas. Requiere SQL Server 2016 SP1 o superior (CREATE OR ALTER, STRING_SPLIT,
-- nivel de compatibilidad 130+).
--
-- Uso:  sqlcmd -S <servidor> -d <base> -E -b -i SAM.sql        (archivo en UTF-8)
--
-- Fechas: hora local sin zona (como GETDATE() en el original); el servicio escribe la hora de
-- SAM_ZONA_HORARIA. El gemelo SQLite es common/database/sam_sqlite.sql (mismas tablas y columnas).
-- =============================================================================================

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
-- Tablas
-- ---------------------------------------------------------------------------------------------

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
        CONSTRAINT PK_Robots PRIMARY KEY CLUSTERED (RobotId)
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
        CONSTRAINT PK_Equipos PRIMARY KEY CLUSTERED (EquipoId)
    );
END;
GO

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
        CONSTRAINT PK_Programaciones PRIMARY KEY CLUSTERED (ProgramacionId),
        CONSTRAINT FK_Programaciones_Robots FOREIGN KEY (RobotId) REFERENCES dbo.Robots (RobotId),
        CONSTRAINT CK_Programaciones_Tipo
        CHECK (TipoProgramacion IN (N'Diaria', N'Semanal', N'Mensual', N'Especifica'))
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
IF COL_LENGTH(N'dbo.HistoricoBalanceo', N'CodigoMotivo') IS NULL
ALTER TABLE dbo.HistoricoBalanceo ADD CodigoMotivo NVARCHAR(50) NULL;
GO
IF COL_LENGTH(N'dbo.HistoricoBalanceo', N'EquipoIds') IS NULL
ALTER TABLE dbo.HistoricoBalanceo ADD EquipoIds NVARCHAR(4000) NULL;
GO

-- Claves nuevas sobre tablas heredadas (sólo si faltan).
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
BEGIN
    IF EXISTS (
        SELECT a.RobotId, a.EquipoId
        FROM dbo.Asignaciones AS a
        GROUP BY a.RobotId, a.EquipoId
        HAVING COUNT(*) > 1
    )
        THROW 50000, N'dbo.Asignaciones tiene filas duplicadas (RobotId, EquipoId): elimínelas y ejecute SAM.sql de nuevo.', 1;
    ALTER TABLE dbo.Asignaciones ADD CONSTRAINT PK_Asignaciones PRIMARY KEY CLUSTERED (RobotId, EquipoId);
END;
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
IF NOT EXISTS (
    SELECT 1 FROM sys.indexes
    WHERE name = N'IX_CallbacksRecibidos_DeploymentId' AND object_id = OBJECT_ID(N'dbo.CallbacksRecibidos')
)
CREATE NONCLUSTERED INDEX IX_CallbacksRecibidos_DeploymentId
ON dbo.CallbacksRecibidos (DeploymentId, Aplicado);
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

-- Activa = NO terminal. La lista es common/execution_states.TERMINAL_STATES (lo comprueba un test).
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
WHERE x.Estado NOT IN ('COMPLETED','DEPLOY_FAILED','RUN_ABORTED','RUN_COMPLETED','RUN_FAILED','RUN_TIMED_OUT')
  AND x.FechaFin IS NULL;
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
    SUM(CASE WHEN a.AsignadoPor = N'Balanceador' THEN 1 ELSE 0 END) AS RobotsBalanceador
FROM dbo.Equipos AS e
INNER JOIN dbo.Asignaciones AS a ON a.EquipoId = e.EquipoId
GROUP BY e.EquipoId, e.Equipo, e.UserName, e.Licencia, e.Activo_SAM, e.PermiteBalanceoDinamico, e.EstadoA360;
GO

-- ---------------------------------------------------------------------------------------------
-- Procedimientos de operación (carga de datos por los operadores)
--
-- Defectos del original corregidos: se validan todos los parámetros (robot y equipos deben
-- existir, sin ambigüedad de nombres; días y horas válidos), todo ocurre en una transacción
-- (nada queda a medias), no se duplican programaciones ni asignaciones, y cualquier error se
-- registra en dbo.ErrorLog y se relanza (THROW) para que el operador lo vea.
-- @Robot acepta el nombre del robot o su RobotId; @Equipos una lista separada por comas de
-- nombres de equipo o EquipoId.
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
                    N'Error ', ERROR_NUMBER(), N' (línea ', ERROR_LINE(), N'): ', ERROR_MESSAGE()
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
-- An existing assignment of the pair becomes an online one (EsProgramado = 0).
CREATE OR ALTER PROCEDURE dbo.AsignarRobotOnline
    @Robot NVARCHAR(100),
    @Equipos NVARCHAR(MAX),
    @Reservado BIT = 0,
    @AsignadoPor NVARCHAR(50) = N'Manual'
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;
    DECLARE @RobotId INT;
    DECLARE @Ahora DATETIME2(3) = GETDATE();
    DECLARE @Parametros NVARCHAR(MAX) = CONCAT(
        N'@Robot=', @Robot, N'; @Equipos=', @Equipos,
        N'; @Reservado=', @Reservado, N'; @AsignadoPor=', @AsignadoPor
    );

    BEGIN TRY
        IF LTRIM(RTRIM(ISNULL(@AsignadoPor, N''))) = N''
            THROW 50010, N'El parámetro @AsignadoPor no puede estar vacío.', 1;
        IF @AsignadoPor = N'Balanceador'
            THROW 50011, N'@AsignadoPor = ''Balanceador'' está reservado al servicio Balanceador.', 1;

        CREATE TABLE #EquiposSolicitados (Nombre NVARCHAR(100) NOT NULL, EquipoId INT NULL);
        EXEC dbo.ResolverRobotYEquiposSAM @Robot = @Robot, @Equipos = @Equipos, @RobotId = @RobotId OUTPUT;

        BEGIN TRANSACTION;

        UPDATE dbo.Robots
        SET EsOnline = 1
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

        COMMIT TRANSACTION;
    END TRY
    BEGIN CATCH
        IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION;
        EXEC dbo.RegistrarErrorSAM @SPNombre = N'dbo.AsignarRobotOnline', @Parametros = @Parametros;
        THROW;
    END CATCH;
END;
GO

-- Common body of the CargarProgramacion* procedures: validates, creates (or reuses an identical
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
    @ProgramacionId INT = NULL OUTPUT
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;
    DECLARE @RobotId INT;
    DECLARE @Ahora DATETIME2(3) = GETDATE();
    DECLARE @Dias NVARCHAR(50) = NULL;
    DECLARE @DiaInvalido NVARCHAR(50);
    DECLARE @Mensaje NVARCHAR(2048);

    IF @TipoProgramacion NOT IN (N'Diaria', N'Semanal', N'Mensual', N'Especifica')
        THROW 50020, N'@TipoProgramacion debe ser Diaria, Semanal, Mensual o Especifica.', 1;
    IF @HoraInicio IS NULL
        THROW 50021, N'El parámetro @HoraInicio es obligatorio (HH:MM).', 1;
    IF @Tolerancia IS NOT NULL AND (@Tolerancia < 0 OR @Tolerancia > 1439)
        THROW 50022, N'@Tolerancia debe estar entre 0 y 1439 minutos (NULL = 60).', 1;

    IF @TipoProgramacion = N'Semanal'
    BEGIN
        -- Codes LU MA MI JU VI SA (or SÁ) DO, separated by commas, semicolons or spaces; whole tokens.
        DECLARE @Tokens TABLE (Dia NVARCHAR(50) NOT NULL);
        INSERT INTO @Tokens (Dia)
        SELECT DISTINCT UPPER(LTRIM(RTRIM(s.value)))
        FROM STRING_SPLIT(REPLACE(REPLACE(ISNULL(@DiaSemana, N''), N',', N' '), N';', N' '), N' ') AS s
        WHERE LTRIM(RTRIM(s.value)) <> N'';

        IF NOT EXISTS (SELECT 1 FROM @Tokens)
            THROW 50023, N'@DiaSemana es obligatorio para una programación semanal (p. ej. ''LU,MI,VI'').', 1;

        SELECT TOP (1) @DiaInvalido = t.Dia
        FROM @Tokens AS t
        WHERE t.Dia NOT IN (N'LU', N'MA', N'MI', N'JU', N'VI', N'SA', N'SÁ', N'DO');
        IF @DiaInvalido IS NOT NULL
        BEGIN
            SET @Mensaje = CONCAT(
                N'Día de la semana no válido: ''', @DiaInvalido, N'''. Use LU, MA, MI, JU, VI, SA, DO.'
            );
            THROW 50024, @Mensaje, 1;
        END;

        SET @Dias = UPPER(LTRIM(RTRIM(@DiaSemana)));
    END;

    IF @TipoProgramacion = N'Mensual' AND (@DiaDelMes IS NULL OR @DiaDelMes < 1 OR @DiaDelMes > 31)
        THROW 50025, N'@DiaDelMes debe estar entre 1 y 31 para una programación mensual.', 1;

    IF @TipoProgramacion = N'Especifica' AND @FechaEspecifica IS NULL
        THROW 50026, N'@FechaEspecifica es obligatoria para una programación específica.', 1;
    IF @TipoProgramacion = N'Especifica' AND @FechaEspecifica < CONVERT(DATE, @Ahora)
        THROW 50027, N'@FechaEspecifica no puede estar en el pasado.', 1;

    CREATE TABLE #EquiposSolicitados (Nombre NVARCHAR(100) NOT NULL, EquipoId INT NULL);
    EXEC dbo.ResolverRobotYEquiposSAM @Robot = @Robot, @Equipos = @Equipos, @RobotId = @RobotId OUTPUT;

    BEGIN TRANSACTION;

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
    ORDER BY p.ProgramacionId;

    IF @ProgramacionId IS NULL
    BEGIN
        INSERT INTO dbo.Programaciones
            (RobotId, TipoProgramacion, HoraInicio, DiaSemana, DiaDelMes, FechaEspecifica, Tolerancia, Activo)
        VALUES (
            @RobotId,
            @TipoProgramacion,
            @HoraInicio,
            @Dias,
            CASE WHEN @TipoProgramacion = N'Mensual' THEN @DiaDelMes END,
            CASE WHEN @TipoProgramacion = N'Especifica' THEN @FechaEspecifica END,
            ISNULL(@Tolerancia, 60),
            1
        );
        SET @ProgramacionId = CONVERT(INT, SCOPE_IDENTITY());
    END
    ELSE
    BEGIN
        UPDATE dbo.Programaciones
        SET Tolerancia = ISNULL(@Tolerancia, 60)
        WHERE ProgramacionId = @ProgramacionId;
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
    WHERE a.RobotId = @RobotId;

    INSERT INTO dbo.Asignaciones
        (RobotId, EquipoId, EsProgramado, Reservado, FechaAsignacion, AsignadoPor, ProgramacionId)
    SELECT DISTINCT @RobotId, q.EquipoId, 1, 0, @Ahora, N'Programacion', @ProgramacionId
    FROM #EquiposSolicitados AS q
    WHERE NOT EXISTS (
        SELECT 1 FROM dbo.Asignaciones AS a WITH (UPDLOCK, HOLDLOCK)
        WHERE a.RobotId = @RobotId AND a.EquipoId = q.EquipoId
    );

    COMMIT TRANSACTION;
END;
GO

CREATE OR ALTER PROCEDURE dbo.CargarProgramacionDiaria
    @Robot NVARCHAR(100),
    @Equipos NVARCHAR(MAX),
    @HoraInicio TIME(0),
    @Tolerancia INT = 60
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;
    DECLARE @ProgramacionId INT;
    DECLARE @Parametros NVARCHAR(MAX) = CONCAT(
        N'@Robot=', @Robot, N'; @Equipos=', @Equipos,
        N'; @HoraInicio=', CONVERT(NVARCHAR(8), @HoraInicio), N'; @Tolerancia=', @Tolerancia
    );
    BEGIN TRY
        EXEC dbo.CargarProgramacionSAM
            @TipoProgramacion = N'Diaria',
            @Robot = @Robot,
            @Equipos = @Equipos,
            @HoraInicio = @HoraInicio,
            @Tolerancia = @Tolerancia,
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
    @Tolerancia INT = 60
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;
    DECLARE @ProgramacionId INT;
    DECLARE @Parametros NVARCHAR(MAX) = CONCAT(
        N'@Robot=', @Robot, N'; @Equipos=', @Equipos, N'; @DiaSemana=', @DiaSemana,
        N'; @HoraInicio=', CONVERT(NVARCHAR(8), @HoraInicio), N'; @Tolerancia=', @Tolerancia
    );
    BEGIN TRY
        EXEC dbo.CargarProgramacionSAM
            @TipoProgramacion = N'Semanal',
            @Robot = @Robot,
            @Equipos = @Equipos,
            @HoraInicio = @HoraInicio,
            @Tolerancia = @Tolerancia,
            @DiaSemana = @DiaSemana,
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
    @Tolerancia INT = 60
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;
    DECLARE @ProgramacionId INT;
    DECLARE @Parametros NVARCHAR(MAX) = CONCAT(
        N'@Robot=', @Robot, N'; @Equipos=', @Equipos, N'; @DiaDelMes=', @DiaDelMes,
        N'; @HoraInicio=', CONVERT(NVARCHAR(8), @HoraInicio), N'; @Tolerancia=', @Tolerancia
    );
    BEGIN TRY
        EXEC dbo.CargarProgramacionSAM
            @TipoProgramacion = N'Mensual',
            @Robot = @Robot,
            @Equipos = @Equipos,
            @HoraInicio = @HoraInicio,
            @Tolerancia = @Tolerancia,
            @DiaDelMes = @DiaDelMes,
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
    @Tolerancia INT = 60
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;
    DECLARE @ProgramacionId INT;
    DECLARE @Parametros NVARCHAR(MAX) = CONCAT(
        N'@Robot=', @Robot, N'; @Equipos=', @Equipos,
        N'; @FechaEspecifica=', CONVERT(NVARCHAR(10), @FechaEspecifica, 23),
        N'; @HoraInicio=', CONVERT(NVARCHAR(8), @HoraInicio), N'; @Tolerancia=', @Tolerancia
    );
    BEGIN TRY
        EXEC dbo.CargarProgramacionSAM
            @TipoProgramacion = N'Especifica',
            @Robot = @Robot,
            @Equipos = @Equipos,
            @HoraInicio = @HoraInicio,
            @Tolerancia = @Tolerancia,
            @FechaEspecifica = @FechaEspecifica,
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

-- ---------------------------------------------------------------------------------------------
-- Procedimientos del Lanzador (dbo.ObtenerRobotsEjecutables)
-- ---------------------------------------------------------------------------------------------
-- dbo.ObtenerRobotsEjecutables: what the Lanzador launches now (BEHAVIOUR L2). Canonical copy
-- and its SQLite twin: lanzador/service/seleccion.py (keep both in step; a test compares them).
CREATE OR ALTER PROCEDURE dbo.ObtenerRobotsEjecutables
    @Ahora DATETIME2 = NULL,
    @EsperaTrasFalloSeg INT = 300,
    @ToleranciaUnknownMin INT = 120,
    @ToleranciaDefectoMin INT = 60
AS
BEGIN
    SET NOCOUNT ON;
    IF @Ahora IS NULL SET @Ahora = CAST(GETDATE() AS DATETIME2);
    DECLARE @Hoy DATE = CAST(@Ahora AS DATE);
    DECLARE @Ayer DATE = DATEADD(DAY, -1, CAST(@Ahora AS DATE));
    DECLARE @LimiteFallo DATETIME2 = DATEADD(SECOND, -@EsperaTrasFalloSeg, @Ahora);
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
                    AND e.Estado NOT IN ('COMPLETED','DEPLOY_FAILED','RUN_ABORTED','RUN_COMPLETED','RUN_FAILED','RUN_TIMED_OUT')
                    AND e.FechaFin IS NULL
                    AND NOT (
                        e.Estado = N'UNKNOWN'
                        AND COALESCE(e.FechaActualizacion, e.FechaInicio) < @LimiteUnknown
                    )
              )
        ),
        Dias AS (
            SELECT @Hoy AS Dia
            UNION ALL
            SELECT @Ayer AS Dia
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
                COALESCE(p.Tolerancia, @ToleranciaDefectoMin) AS ToleranciaMin
            FROM dbo.Asignaciones AS a
            INNER JOIN dbo.Robots AS r ON r.RobotId = a.RobotId
            INNER JOIN EquiposLibres AS el ON el.EquipoId = a.EquipoId
            INNER JOIN dbo.Programaciones AS p
                ON p.RobotId = a.RobotId
               AND (a.ProgramacionId IS NULL OR a.ProgramacionId = p.ProgramacionId)
            CROSS JOIN Dias AS d
            WHERE a.EsProgramado = 1
              AND r.Activo = 1
              AND r.ExisteEnA360 = 1
              AND p.Activo = 1
              AND p.HoraInicio IS NOT NULL
              AND (
                  UPPER(p.TipoProgramacion) = N'DIARIA'
                  OR (
                      UPPER(p.TipoProgramacion) = N'SEMANAL'
                      AND N' ' + REPLACE(REPLACE(REPLACE(REPLACE(UPPER(COALESCE(p.DiaSemana, N'')),
                              N'Á', N'A'), N',', N' '), N';', N' '), CHAR(9), N' ') + N' '
                          LIKE N'% ' + CASE DATEDIFF(DAY, CAST('19000101' AS DATE), d.Dia) % 7
                              WHEN 0 THEN N'LU' WHEN 1 THEN N'MA' WHEN 2 THEN N'MI'
                              WHEN 3 THEN N'JU' WHEN 4 THEN N'VI' WHEN 5 THEN N'SA'
                              ELSE N'DO' END + N' %'
                  )
                  OR (
                      UPPER(p.TipoProgramacion) = N'MENSUAL'
                      AND DAY(d.Dia) = CASE WHEN p.DiaDelMes > DAY(EOMONTH(d.Dia))
                                            THEN DAY(EOMONTH(d.Dia)) ELSE p.DiaDelMes END
                  )
                  OR (
                      UPPER(p.TipoProgramacion) = N'ESPECIFICA'
                      AND p.FechaEspecifica = d.Dia
                  )
              )
        ),
        Programados AS (
            SELECT s.RobotId, s.EquipoId, s.UserId, s.HoraInicio AS Hora,
                   CAST(1 AS BIT) AS EsProgramado, s.Dia AS FechaSlot, s.Inicio AS Orden
            FROM Slots AS s
            WHERE @Ahora >= s.Inicio
              AND @Ahora <= DATEADD(MINUTE, s.ToleranciaMin, s.Inicio)
              AND NOT EXISTS (
                  SELECT 1 FROM dbo.Ejecuciones AS e
                  WHERE e.RobotId = s.RobotId AND e.EquipoId = s.EquipoId
                    AND e.FechaSlot = s.Dia AND e.Hora = s.HoraInicio
              )
              AND NOT EXISTS (
                  SELECT 1 FROM dbo.Ejecuciones AS e
                  WHERE e.RobotId = s.RobotId AND e.EquipoId = s.EquipoId
                    AND e.Estado = N'DEPLOY_FAILED'
                    AND COALESCE(e.FechaFin, e.FechaActualizacion, e.FechaInicio) > @LimiteFallo
              )
        ),
        Online AS (
            SELECT a.RobotId, a.EquipoId, el.UserId, CAST(NULL AS TIME) AS Hora,
                   CAST(0 AS BIT) AS EsProgramado, CAST(NULL AS DATE) AS FechaSlot,
                   COALESCE((
                       SELECT MAX(COALESCE(e.FechaFin, e.FechaInicio))
                       FROM dbo.Ejecuciones AS e
                       WHERE e.RobotId = a.RobotId AND e.EquipoId = a.EquipoId
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
                    AND e.Estado = N'DEPLOY_FAILED'
                    AND COALESCE(e.FechaFin, e.FechaActualizacion, e.FechaInicio) > @LimiteFallo
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

PRINT N'Esquema SAM aplicado correctamente.';
GO
