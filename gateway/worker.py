"""The gateway's gunicorn worker: uvicorn's, with its fast parser and without what the gateway does itself."""

from uvicorn_worker import UvicornWorker


class GatewayWorker(UvicornWorker):
    CONFIG_KWARGS = {
        # asyncio's own loop, not uvloop: under gunicorn, uvloop 0.23 stopped accepting connections
        # after a few seconds of 16 concurrent clients here (their requests left unread in the backlog),
        # and asyncio's loop served as many requests a second without that.
        "loop": "asyncio",
        "http": "httptools",
        "lifespan": "on",
        # The gateway writes its own access log, without paths (they can carry personal data).
        "access_log": False,
        # The client's address is the peer's: a forwarded one could dodge the per-address limits.
        "proxy_headers": False,
        "server_header": False,
    }
