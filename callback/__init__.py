"""The callback service (BEHAVIOUR L4): receives A360's completion callbacks over HTTP.

- :mod:`callback.app`: the WSGI app around the pure :func:`callback.app.interpretar`.
- :mod:`callback.run_callback`: the NSSM entry point (``python callback/run_callback.py``, also
  ``python -m callback``).
"""
