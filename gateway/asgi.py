"""What gunicorn serves: `gunicorn -c python:servicekit.gunicorn_conf -k gateway.worker.GatewayWorker gateway.asgi:app`."""

from .app import create_gateway

app = create_gateway()
