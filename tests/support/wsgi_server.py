"""A WSGI app on a real port in a thread: the stand-ins of the gateway's and the portal's tests."""

from __future__ import annotations

import threading

from werkzeug.serving import make_server


class Server:
    def __init__(self, app):
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
