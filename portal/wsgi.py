"""The portal for gunicorn: `gunicorn -c python:servicekit.gunicorn_conf portal.wsgi:app` (PORT, WEB_CONCURRENCY)."""

from .app import create_app

app = create_app()
