"""What gunicorn serves: `gunicorn -c python:servicekit.gunicorn_conf gateway.wsgi:app`."""
from .app import create_app

app = create_app()
