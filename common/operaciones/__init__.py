"""The operations module (CONSOLE §4): every change an operator makes to SAM, shared by the
console and the command line. Each operation is one transaction on either engine (T-SQL and
SQLite side by side, registered in :mod:`common.database.sentencias`), checks the caller's role,
and writes its :mod:`common.operaciones.auditoria` row in that same transaction, refused
attempts included."""
