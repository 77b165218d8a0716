from servicekit import create_app

from .service import SERVICE

app = create_app(SERVICE)
