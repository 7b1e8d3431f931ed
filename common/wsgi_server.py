"""Run a waitress server in a thread and stop it cleanly (no fork, works on Windows)."""

from __future__ import annotations

import logging
import threading

from waitress import wasyncore
from waitress.server import create_server

log = logging.getLogger("sam.wsgi")


class ThreadedServer:
    """``create_server`` on ``host:port`` (0 = a free port) served from a daemon thread.

    Pass ``server=`` to serve a waitress server built elsewhere (e.g. the callback server's
    ``build_server``). Used by the simulator, its callback receiver and the tests.
    """

    def __init__(self, app=None, *, server=None, host: str = "127.0.0.1", port: int = 0, threads: int = 8,
                 name: str = "wsgi-server", **adjustments: object) -> None:
        if server is None:
            server = create_server(app, host=host, port=port, threads=threads, **adjustments)
        self.server = server
        self.port: int = self.server.effective_port
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.server.run()
        except Exception:
            if not self._stopping:
                log.exception("El servidor HTTP terminó con error")

    def close(self, timeout: float = 5.0) -> None:
        if self._stopping:
            return
        self._stopping = True
        server = self.server
        trigger = server.trigger

        def stop_in_loop() -> None:  # runs in the loop thread: empty the map so run() returns
            for channel in list(server._map.values()):
                if channel is not server and channel is not trigger:
                    channel.close()
            trigger.del_channel()
            wasyncore.dispatcher.close(server)

        try:
            trigger.pull_trigger(stop_in_loop)
        except OSError:  # trigger unusable: the loop is gone already
            pass
        self._thread.join(timeout)
        trigger.close()  # only now: nobody can write to its pipe any more
        server.task_dispatcher.shutdown(cancel_pending=True, timeout=timeout)
