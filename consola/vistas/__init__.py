"""The console's views: one module per page group, each with a blueprint ``bp`` whose routes are
declared with :func:`consola.rutas.ruta`. :func:`consola.app.crear_app` registers every module
of this package (names starting with ``_`` are helpers and are skipped)."""
