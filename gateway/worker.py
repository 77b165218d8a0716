"""The gateway's gunicorn worker: uvicorn's, with its fast parts and without what the gateway does itself."""
from uvicorn_worker import UvicornWorker


class GatewayWorker(UvicornWorker):
    CONFIG_KWARGS = {
        "loop": "uvloop", "http": "httptools", "lifespan": "on",
        # The gateway writes its own access log, without paths (they can carry personal data).
        "access_log": False,
        # The client's address is the peer's: a forwarded one could dodge the per-address limits.
        "proxy_headers": False,
        "server_header": False,
    }
