-- SAM database schema, SQLite twin of SAM.sql (the canonical SQL Server schema).
-- Same tables, columns and view names. Applied by common/database/schema.py:ensure_schema on
-- every start; idempotent (IF NOT EXISTS; views are dropped and re-created so they stay current).
-- Type mapping: INT/BIT -> INTEGER, NVARCHAR -> TEXT, DATETIME2 -> DATETIME, TIME, DATE
-- (declared types drive the datetime converters of common/database/sql_client.py).
-- Datetimes are naive local time stored as text 'YYYY-MM-DD HH:MM:SS.ffffff'.
-- A test (tests/test_schema.py) proves this file and SAM.sql define the same tables and columns.

-- Pools (B11): robots and equipos with the same PoolId work together; NULL = the general pool.
CREATE TABLE IF NOT EXISTS Pools (
    PoolId             INTEGER PRIMARY KEY AUTOINCREMENT,
    Nombre             TEXT NOT NULL,
    Descripcion        TEXT NULL,
    Activo             INTEGER NOT NULL DEFAULT 1,
    FechaActualizacion DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now', 'localtime'))
);

CREATE TABLE IF NOT EXISTS Robots (
    RobotId                   INTEGER NOT NULL PRIMARY KEY,
    Robot                     TEXT NOT NULL,
    Descripcion               TEXT NULL,
    Parametros                TEXT NULL,
    EsOnline                  INTEGER NOT NULL DEFAULT 0,
    Activo                    INTEGER NOT NULL DEFAULT 1,
    MinEquipos                INTEGER NOT NULL DEFAULT 1,
    MaxEquipos                INTEGER NOT NULL DEFAULT -1,
    PrioridadBalanceo         INTEGER NOT NULL DEFAULT 100,
    TicketsPorEquipoAdicional INTEGER NULL,
    ExisteEnA360              INTEGER NOT NULL DEFAULT 1,
    FechaSincronizacion       DATETIME NULL,
    PoolId                    INTEGER NULL REFERENCES Pools (PoolId),
    -- Version of the operator-owned columns (CONSOLE §4): set by every operations write, never by the sync.
    FechaActualizacion        DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now', 'localtime'))
);

CREATE TABLE IF NOT EXISTS Equipos (
    EquipoId                INTEGER NOT NULL PRIMARY KEY,
    Equipo                  TEXT NOT NULL,
    UserId                  INTEGER NULL,
    UserName                TEXT NULL,
    Licencia                TEXT NULL,
    Activo_SAM              INTEGER NOT NULL DEFAULT 1,
    EstadoBalanceador       TEXT NULL,
    PermiteBalanceoDinamico INTEGER NOT NULL DEFAULT 1,
    EstadoA360              TEXT NULL,
    UsuarioActivoA360       INTEGER NOT NULL DEFAULT 1,
    FechaSincronizacion     DATETIME NULL,
    PoolId                  INTEGER NULL REFERENCES Pools (PoolId),
    -- Version of the operator-owned columns (CONSOLE §4): set by every operations write, never by the sync.
    FechaActualizacion      DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now', 'localtime'))
);

CREATE TABLE IF NOT EXISTS Programaciones (
    ProgramacionId   INTEGER PRIMARY KEY AUTOINCREMENT,
    RobotId          INTEGER NOT NULL REFERENCES Robots (RobotId),
    TipoProgramacion TEXT NOT NULL,
    HoraInicio       TIME NOT NULL,
    DiaSemana        TEXT NULL,
    DiaDelMes        INTEGER NULL,
    FechaEspecifica  DATE NULL,
    Tolerancia       INTEGER NULL DEFAULT 60,
    Activo           INTEGER NOT NULL DEFAULT 1,
    -- L7: cyclic windows, monthly ranges and date windows (common/programacion.py says what is valid).
    EsCiclico                 INTEGER NOT NULL DEFAULT 0,
    HoraFin                   TIME NULL,
    FechaInicioVentana        DATE NULL,
    FechaFinVentana           DATE NULL,
    IntervaloEntreEjecuciones INTEGER NULL,
    DiaInicioMes              INTEGER NULL,
    DiaFinMes                 INTEGER NULL,
    UltimosDiasMes            INTEGER NULL,
    FechaActualizacion        DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now', 'localtime')),
    -- As SQL Server compares: case-insensitive, trailing spaces ignored (the selection does the same).
    CONSTRAINT CK_Programaciones_Tipo
        CHECK (UPPER(RTRIM(TipoProgramacion)) IN ('DIARIA', 'SEMANAL', 'MENSUAL', 'ESPECIFICA', 'RANGOMENSUAL'))
);

CREATE TABLE IF NOT EXISTS Asignaciones (
    RobotId         INTEGER NOT NULL REFERENCES Robots (RobotId),
    EquipoId        INTEGER NOT NULL REFERENCES Equipos (EquipoId),
    EsProgramado    INTEGER NOT NULL DEFAULT 0,
    Reservado       INTEGER NOT NULL DEFAULT 0,
    FechaAsignacion DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now', 'localtime')),
    AsignadoPor     TEXT NOT NULL DEFAULT 'Manual',
    ProgramacionId  INTEGER NULL REFERENCES Programaciones (ProgramacionId),
    PRIMARY KEY (RobotId, EquipoId)
);

CREATE TABLE IF NOT EXISTS Ejecuciones (
    EjecucionId           INTEGER PRIMARY KEY AUTOINCREMENT,
    -- A360 deployment ids (UUIDs) match case-insensitively, as on SQL Server's default collations.
    DeploymentId          TEXT NULL COLLATE NOCASE,
    RobotId               INTEGER NOT NULL,
    EquipoId              INTEGER NOT NULL,
    UserId                INTEGER NULL,
    Hora                  TIME NULL,
    FechaInicio           DATETIME NULL,
    FechaFin              DATETIME NULL,
    Estado                TEXT NOT NULL,
    FechaActualizacion    DATETIME NULL,
    CallbackInfo          TEXT NULL,
    MensajeError          TEXT NULL,
    FechaSlot             DATE NULL,
    RondasNoEncontrado    INTEGER NOT NULL DEFAULT 0,
    AlertaDuracionEnviada INTEGER NOT NULL DEFAULT 0,
    ClaveIntento          TEXT NULL,
    FalloSinConfirmar     INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS HistoricoBalanceo (
    HistoricoId             INTEGER PRIMARY KEY AUTOINCREMENT,
    FechaBalanceo           DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now', 'localtime')),
    RobotId                 INTEGER NOT NULL,
    TicketsPendientes       INTEGER NULL,
    EquiposAsignadosAntes   INTEGER NULL,
    EquiposAsignadosDespues INTEGER NULL,
    AccionTomada            TEXT NULL,
    Justificacion           TEXT NULL,
    CodigoMotivo            TEXT NULL,
    EquipoIds               TEXT NULL,
    PoolId                  INTEGER NULL
);

CREATE TABLE IF NOT EXISTS ErrorLog (
    ErrorLogId   INTEGER PRIMARY KEY AUTOINCREMENT,
    FechaError   DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now', 'localtime')),
    Usuario      TEXT NULL,
    SPNombre     TEXT NULL,
    ErrorMensaje TEXT NULL,
    Parametros   TEXT NULL
);

CREATE TABLE IF NOT EXISTS CallbacksRecibidos (
    CallbackId     INTEGER PRIMARY KEY AUTOINCREMENT,
    DeploymentId   TEXT NOT NULL COLLATE NOCASE,
    FechaRecepcion DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now', 'localtime')),
    Estado         TEXT NULL,
    Payload        TEXT NULL,
    Aplicado       INTEGER NOT NULL DEFAULT 0
);

-- Retention (BEHAVIOUR §14 R2): closed executions move here in batches (common/database/mantenimiento.py).
-- Same columns and types as Ejecuciones (EjecucionId kept, not generated) plus FechaMovimiento.
CREATE TABLE IF NOT EXISTS Ejecuciones_Historico (
    EjecucionId           INTEGER NOT NULL PRIMARY KEY,
    DeploymentId          TEXT NULL COLLATE NOCASE,
    RobotId               INTEGER NOT NULL,
    EquipoId              INTEGER NOT NULL,
    UserId                INTEGER NULL,
    Hora                  TIME NULL,
    FechaInicio           DATETIME NULL,
    FechaFin              DATETIME NULL,
    Estado                TEXT NOT NULL,
    FechaActualizacion    DATETIME NULL,
    CallbackInfo          TEXT NULL,
    MensajeError          TEXT NULL,
    FechaSlot             DATE NULL,
    RondasNoEncontrado    INTEGER NOT NULL DEFAULT 0,
    AlertaDuracionEnviada INTEGER NOT NULL DEFAULT 0,
    ClaveIntento          TEXT NULL,
    FalloSinConfirmar     INTEGER NOT NULL DEFAULT 0,
    FechaMovimiento       DATETIME NOT NULL
);
CREATE INDEX IF NOT EXISTS IX_Ejecuciones_Historico_FechaFin ON Ejecuciones_Historico (FechaFin);
CREATE INDEX IF NOT EXISTS IX_Ejecuciones_Historico_DeploymentId ON Ejecuciones_Historico (DeploymentId);
-- The console's searches by robot or equipo (consola.ejecuciones_ventana_robot/_equipo) seek that
-- robot's or equipo's past executions newest id first instead of reading every id of a window.
CREATE INDEX IF NOT EXISTS IX_Ejecuciones_Historico_Robot_Id ON Ejecuciones_Historico (RobotId, EjecucionId);
CREATE INDEX IF NOT EXISTS IX_Ejecuciones_Historico_Equipo_Id ON Ejecuciones_Historico (EquipoId, EjecucionId);

-- State of the maintenance jobs: the date of the last completed run of each one.
-- Name mapping (B14): the name a ticket source (Proveedor = rpa360, clouders) reports -> the SAM
-- robot. Unique per source and name, case-insensitive as on SQL Server's default collations.
CREATE TABLE IF NOT EXISTS MapeoRobots (
    MapeoId       INTEGER PRIMARY KEY AUTOINCREMENT,
    Proveedor     TEXT NOT NULL COLLATE NOCASE,
    NombreExterno TEXT NOT NULL COLLATE NOCASE,
    RobotId       INTEGER NOT NULL REFERENCES Robots (RobotId)
);

CREATE TABLE IF NOT EXISTS Mantenimiento (
    Tarea                   TEXT NOT NULL PRIMARY KEY,
    UltimaEjecucionCompleta DATE NULL,
    FechaActualizacion      DATETIME NULL
);

-- Heartbeats (BEHAVIOUR H5, common/latido.py): one row per SAM process.
CREATE TABLE IF NOT EXISTS EstadoServicios (
    Servicio      TEXT NOT NULL,
    Host          TEXT NOT NULL,
    Pid           INTEGER NOT NULL,
    Version       TEXT NOT NULL,
    Rol           TEXT NOT NULL CHECK (Rol IN ('lider', 'espera', 'activo')),
    Inicio        DATETIME NOT NULL,
    UltimoLatido  DATETIME NOT NULL,
    UltimoCicloOk DATETIME NULL,
    UltimoError   TEXT NULL,
    PRIMARY KEY (Servicio, Host, Pid)
);

-- Leader election (BEHAVIOUR H1, common/liderazgo.py): one row per role ('lanzador', 'balanceador').
-- On SQLite the row is the lease (taken only when ExpiraUtc has passed); times are UTC.
CREATE TABLE IF NOT EXISTS Liderazgo (
    Rol         TEXT NOT NULL PRIMARY KEY,
    Titular     TEXT NOT NULL,
    Host        TEXT NOT NULL,
    Pid         INTEGER NOT NULL,
    DesdeUtc    DATETIME NOT NULL,
    RenovadoUtc DATETIME NOT NULL,
    ExpiraUtc   DATETIME NOT NULL
);

-- Settings changed without a restart (C6): one row per whitelisted setting.
CREATE TABLE IF NOT EXISTS ConfiguracionSistema (
    Clave              TEXT NOT NULL PRIMARY KEY,
    Valor              TEXT NULL,
    Descripcion        TEXT NULL,
    FechaActualizacion DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now', 'localtime')),
    ActualizadoPor     TEXT NULL
);

-- Audit trail (CONSOLE §4): every operations change and every refused attempt, written in the
-- change's own transaction. Antes/Despues are JSON; Resultado: ok, forzado, rechazado or conflicto.
CREATE TABLE IF NOT EXISTS Auditoria (
    AuditoriaId INTEGER PRIMARY KEY AUTOINCREMENT,
    Fecha       DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now', 'localtime')),
    Usuario     TEXT NOT NULL,
    Rol         TEXT NULL,
    Ip          TEXT NULL,
    Accion      TEXT NOT NULL,
    Entidad     TEXT NOT NULL,
    EntidadId   TEXT NULL,
    Antes       TEXT NULL,
    Despues     TEXT NULL,
    Resultado   TEXT NOT NULL,
    IdFormulario TEXT NULL
);
CREATE INDEX IF NOT EXISTS IX_Auditoria_Fecha ON Auditoria (Fecha);
CREATE INDEX IF NOT EXISTS IX_Auditoria_Entidad ON Auditoria (Entidad, EntidadId);
-- One-time form token (CONSOLE §4): a console form's change records it; a resubmission finds it.
CREATE UNIQUE INDEX IF NOT EXISTS UX_Auditoria_IdFormulario
    ON Auditoria (IdFormulario) WHERE IdFormulario IS NOT NULL;

-- Console users (CONSOLE §2). Usuario is stored lower-case; NOCASE keeps SQL Server's
-- case-insensitive uniqueness anyway.
CREATE TABLE IF NOT EXISTS UsuariosConsola (
    UsuarioId          INTEGER PRIMARY KEY AUTOINCREMENT,
    Usuario            TEXT NOT NULL COLLATE NOCASE UNIQUE,
    Nombre             TEXT NULL,
    HashClave          TEXT NOT NULL,
    Rol                TEXT NOT NULL CHECK (Rol IN ('lector', 'operador', 'administrador')),
    Activo             INTEGER NOT NULL DEFAULT 1,
    FechaAlta          DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now', 'localtime')),
    UltimoAcceso       DATETIME NULL,
    IntentosFallidos   INTEGER NOT NULL DEFAULT 0,
    BloqueadoHasta     DATETIME NULL,
    FechaActualizacion DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now', 'localtime')),
    -- Raised by a password, role or active change and by a sign-out: older sessions end.
    VersionSesion      INTEGER NOT NULL DEFAULT 0
);

-- Requests to the running services (CONSOLE §3 POST /solicitudes, rule L8.2): "sincronizar ahora"
-- for the Lanzador, "balancear ahora" for the Balanceador. The leader of that service claims a
-- pending row (AtendidaPor, AtendidaEn), runs it and writes Estado and Resultado.
CREATE TABLE IF NOT EXISTS SolicitudesServicio (
    SolicitudId   INTEGER PRIMARY KEY AUTOINCREMENT,
    Servicio      TEXT NOT NULL CHECK (Servicio IN ('lanzador', 'balanceador')),
    Tipo          TEXT NOT NULL CHECK (Tipo IN ('sincronizar', 'balancear')),
    SolicitadoPor TEXT NOT NULL,
    Fecha         DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now', 'localtime')),
    AtendidaEn    DATETIME NULL,
    AtendidaPor   TEXT NULL,
    Resultado     TEXT NULL,
    Estado        TEXT NOT NULL DEFAULT 'pendiente' CHECK (Estado IN ('pendiente', 'atendida', 'fallida'))
);
CREATE INDEX IF NOT EXISTS IX_SolicitudesServicio_Servicio_Estado ON SolicitudesServicio (Servicio, Estado);

-- Indexes for the hot queries.
CREATE UNIQUE INDEX IF NOT EXISTS UX_Ejecuciones_DeploymentId
    ON Ejecuciones (DeploymentId) WHERE DeploymentId IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS UX_Ejecuciones_ClaveIntento
    ON Ejecuciones (ClaveIntento) WHERE ClaveIntento IS NOT NULL;
CREATE INDEX IF NOT EXISTS IX_Ejecuciones_Estado ON Ejecuciones (Estado);
CREATE INDEX IF NOT EXISTS IX_Ejecuciones_EquipoId_Estado ON Ejecuciones (EquipoId, Estado);
CREATE INDEX IF NOT EXISTS IX_Ejecuciones_Robot_Equipo_Fecha ON Ejecuciones (RobotId, EquipoId, FechaInicio);
-- R1: the per-cycle reads touch only open executions (partial indexes WHERE FechaFin IS NULL: the
-- first conjunct of common/database/ocupacion.abierta) and seek a pair's history by key, never
-- scanning it: the slot check and the recent DEPLOY_FAILED / idle-longest reads use expression
-- indexes on the very expressions the selection compares (date(), time(), datetime()).
CREATE INDEX IF NOT EXISTS IX_Ejecuciones_Abiertas
    ON Ejecuciones (EquipoId, RobotId, Estado, FechaActualizacion, FechaInicio, FechaFin, DeploymentId)
    WHERE FechaFin IS NULL;
CREATE INDEX IF NOT EXISTS IX_Ejecuciones_Abiertas_Inicio
    ON Ejecuciones (FechaInicio, EjecucionId) WHERE FechaFin IS NULL;
CREATE INDEX IF NOT EXISTS IX_Ejecuciones_Abiertas_Estado
    ON Ejecuciones (Estado, FechaActualizacion) WHERE FechaFin IS NULL;
CREATE INDEX IF NOT EXISTS IX_Ejecuciones_Slot
    ON Ejecuciones (RobotId, EquipoId, date(FechaSlot), time(Hora));
CREATE INDEX IF NOT EXISTS IX_Ejecuciones_Robot_Equipo_Fin
    ON Ejecuciones (RobotId, EquipoId, datetime(FechaFin), Estado);
CREATE INDEX IF NOT EXISTS IX_Asignaciones_EquipoId ON Asignaciones (EquipoId);
CREATE INDEX IF NOT EXISTS IX_Asignaciones_ProgramacionId ON Asignaciones (ProgramacionId);
CREATE INDEX IF NOT EXISTS IX_Programaciones_RobotId ON Programaciones (RobotId);
CREATE INDEX IF NOT EXISTS IX_HistoricoBalanceo_Robot_Fecha ON HistoricoBalanceo (RobotId, FechaBalanceo);
CREATE UNIQUE INDEX IF NOT EXISTS UX_Pools_Nombre ON Pools (Nombre COLLATE NOCASE);
CREATE UNIQUE INDEX IF NOT EXISTS UX_MapeoRobots_Proveedor_Nombre ON MapeoRobots (Proveedor, NombreExterno);
CREATE INDEX IF NOT EXISTS IX_MapeoRobots_RobotId ON MapeoRobots (RobotId);
CREATE INDEX IF NOT EXISTS IX_Robots_PoolId ON Robots (PoolId);
CREATE INDEX IF NOT EXISTS IX_Equipos_PoolId ON Equipos (PoolId);
CREATE INDEX IF NOT EXISTS IX_CallbacksRecibidos_DeploymentId ON CallbacksRecibidos (DeploymentId, Aplicado);
-- L5.7 late deployments: the given-up intents and the pending callbacks (partial, as in SAM.sql).
CREATE INDEX IF NOT EXISTS IX_Ejecuciones_FalloSinConfirmar
    ON Ejecuciones (Estado, FechaFin) WHERE FalloSinConfirmar = 1;
CREATE INDEX IF NOT EXISTS IX_CallbacksRecibidos_Pendientes
    ON CallbacksRecibidos (CallbackId, DeploymentId) WHERE Aplicado = 0;

-- Views (same names and columns as SAM.sql).
DROP VIEW IF EXISTS AsignacionesView;
CREATE VIEW AsignacionesView AS
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
FROM Asignaciones AS a
INNER JOIN Robots AS r ON r.RobotId = a.RobotId
INNER JOIN Equipos AS e ON e.EquipoId = a.EquipoId;

-- Open executions: the predicate is common/database/ocupacion.abierta('x.') (tested).
DROP VIEW IF EXISTS EjecucionesActivas;
CREATE VIEW EjecucionesActivas AS
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
FROM Ejecuciones AS x
LEFT JOIN Robots AS r ON r.RobotId = x.RobotId
LEFT JOIN Equipos AS e ON e.EquipoId = x.EquipoId
WHERE x.FechaFin IS NULL AND x.Estado NOT IN ('COMPLETED','DEPLOY_FAILED','RUN_ABORTED','RUN_COMPLETED','RUN_FAILED','RUN_TIMED_OUT');

DROP VIEW IF EXISTS EquiposAsignados;
CREATE VIEW EquiposAsignados AS
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
    SUM(CASE WHEN a.AsignadoPor = 'Balanceador' THEN 1 ELSE 0 END) AS RobotsBalanceador
FROM Equipos AS e
INNER JOIN Asignaciones AS a ON a.EquipoId = e.EquipoId
GROUP BY e.EquipoId, e.Equipo, e.UserName, e.Licencia, e.Activo_SAM, e.PermiteBalanceoDinamico, e.EstadoA360;

-- Every execution, live and moved to history (R4: what shows past executions reads this view).
-- Origen: 'Ejecuciones' (live table) or 'Ejecuciones_Historico'. The history branch comes first so
-- that FechaMovimiento keeps its declared type (the datetime converters of sql_client need it).
DROP VIEW IF EXISTS EjecucionesTodas;
CREATE VIEW EjecucionesTodas AS
SELECT
    EjecucionId, DeploymentId, RobotId, EquipoId, UserId, Hora, FechaInicio, FechaFin, Estado,
    FechaActualizacion, CallbackInfo, MensajeError, FechaSlot, RondasNoEncontrado,
    AlertaDuracionEnviada, ClaveIntento, FalloSinConfirmar,
    FechaMovimiento, 'Ejecuciones_Historico' AS Origen
FROM Ejecuciones_Historico
UNION ALL
SELECT
    EjecucionId, DeploymentId, RobotId, EquipoId, UserId, Hora, FechaInicio, FechaFin, Estado,
    FechaActualizacion, CallbackInfo, MensajeError, FechaSlot, RondasNoEncontrado,
    AlertaDuracionEnviada, ClaveIntento, FalloSinConfirmar,
    NULL AS FechaMovimiento, 'Ejecuciones' AS Origen
FROM Ejecuciones;
