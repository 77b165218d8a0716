"""A stand-in service for the gateway's tests: it verifies the gateway's identity header as services do."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

from flask import Flask, g, jsonify, request

from servicekit.errors import UNAUTHORIZED, Problem, install_error_handlers
from servicekit.identity import HEADER, InvalidIdentity, current_identity, requires, verify
from servicekit.keys import identity_public_keys


def service_app(var_dir: Path, audience: str | None = None) -> Flask:
    """One stand-in for every service, or (`audience`) for that one service only, as a real one is."""
    app = Flask("stand-in")
    app.config["IDENTITY_PUBLIC_KEYS"] = identity_public_keys(var_dir)  # as servicekit.create_app does
    app.config["IDENTITY_AUDIENCE"] = audience
    install_error_handlers(app)
    app.config["hits"] = []

    if audience is None:

        @app.before_request
        def _as_the_service_the_gateway_addressed():
            """The audience is the service named by the gateway's X-Forwarded-Prefix (/api/<service>)."""
            header = request.headers.get(HEADER)
            if header:
                try:
                    g.identity = verify(
                        header,
                        app.config["IDENTITY_PUBLIC_KEYS"],
                        audience=request.headers.get("X-Forwarded-Prefix", "").rpartition("/")[2],
                        method=request.method,
                        path=request.path,
                        request_id=request.headers.get("X-Request-ID", ""),
                    )
                except InvalidIdentity as exc:
                    raise Problem(UNAUTHORIZED, f"Caller identity refused: {exc}") from None

    @app.route("/whoami", methods=["GET", "POST", "PUT", "DELETE"])
    @app.route("/whoami/", methods=["GET"])
    @requires(
        "federation_admin",
        "auditor",
        "unit_officer",
        "grassroots_officer",
        "institution_operator",
        "institution_system",
        "employee",
    )
    def whoami():
        app.config["hits"].append(request.path)
        identity = current_identity()
        return jsonify(
            subject=identity.subject,
            role=identity.role,
            unit_id=identity.unit_id,
            institution_id=identity.institution_id,
            employee_id=identity.employee_id,
            body=request.get_data(as_text=True),
        )

    @app.route("/public/<path:rest>")
    def public(rest):
        app.config["hits"].append(request.path)
        return jsonify(path=rest, identity_header=request.headers.get(HEADER))

    return app


class Blackhole:
    """Accepts connections and never answers: an instance that hangs."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                self.accepted.append(self.listener.accept()[0])
            except OSError:
                return

    def stop(self):
        self.listener.close()
        for connection in self.accepted:
            connection.close()


class Unreachable:
    """Never completes a connection: its one-place accept queue is full and nobody accepts, so the kernel
    drops every further SYN, as for an instance on a host that is down."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(0)
        address = self.listener.getsockname()
        self.url = f"http://127.0.0.1:{address[1]}"
        self.filler = socket.create_connection(address)

    def stop(self):
        self.filler.close()
        self.listener.close()
