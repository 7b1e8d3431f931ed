"""SAM's operations console (CONSOLE.md): a Flask app served by waitress (``SAM-Consola``).

Modules: :mod:`consola.app` (the app factory :func:`~consola.app.crear_app`), :mod:`consola.rutas`
(route declarations and roles), :mod:`consola.seguridad` (session, CSRF, roles, headers),
:mod:`consola.web` (what views use), :mod:`consola.autenticacion` / :mod:`consola.acceso` /
:mod:`consola.claves` / :mod:`consola.ldap_auth` (sign-in), :mod:`consola.servicio` (the process),
:mod:`consola.cli` (``python -m consola`` and its ``usuarios`` commands), :mod:`consola.vistas`
(the pages).

Adding a page
-------------
1. Create ``consola/vistas/<nombre>.py`` with a blueprint named ``bp``; the factory registers every
   module of :mod:`consola.vistas` (no list to edit)::

       from flask import Blueprint, request
       from consola import web
       from consola.rutas import LECTOR, OPERADOR, ruta

       bp = Blueprint("robots", __name__)

       @ruta(bp, "/robots", rol=LECTOR)                       # GET by default
       def lista():
           filas = ...                                        # registered SQL only (sentencias)
           return web.responder("robots.html", {"robots": filas})

       @ruta(bp, "/robots/<int:robot_id>", rol=OPERADOR, metodos=("POST",))
       def guardar(robot_id): ...

   ``rol`` is ``PUBLICA``, ``LECTOR``, ``OPERADOR`` or ``ADMINISTRADOR`` (cumulative). Never use
   ``bp.route``/``add_url_rule`` directly: the factory refuses an endpoint without a declared role.
2. Add each (path, method, role) to ``CONTRATO`` in ``tests/test_consola_rutas.py``: the test fails
   when the app and that table differ, and proves for each route the rules below.
3. Templates extend ``base.html``; POST forms carry
   ``<input type="hidden" name="csrf_token" value="{{ csrf_token() }}">`` and name their fields
   after the DB columns. No inline ``<script>`` or ``style=`` (CSP); JS, if any, in ``static/``.

What every route gets for free (:mod:`consola.seguridad`): unauthenticated GET → 302 ``/login``,
POST → 401, JSON → 401 with a JSON body; CSRF check on every POST (400); wrong role → 403 Spanish
page; the security headers and ``Cache-Control: no-store``; a database that does not answer → 503
page. ``web.usuario()`` is the signed-in user (``usuario``, ``rol``, ``nombre``, ``origen``);
``web.db()``, ``web.contexto().clock`` and ``web.contexto().cfg`` the rest.

JSON: :func:`consola.web.responder` renders the template, or answers the same ``datos`` as JSON
when the request prefers ``Accept: application/json`` (dates as ISO text); errors answer
``{"estado": "error", "codigo": ..., "mensaje": ...}`` to JSON clients. An auto-refreshing page
requests with ``?auto=1`` (or header ``X-SAM-Auto: 1``) so that it does not count as activity and the
idle expiry still applies.
"""
