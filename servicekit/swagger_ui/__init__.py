"""Swagger UI's files (swagger-ui-dist, pinned in package.json), served by every service and the
gateway themselves: the docs pages load nothing from another site.

Upgrade: change the version in package.json, then `npm install && npm run vendor` here.
"""

from __future__ import annotations

from flask import Blueprint

URL = "/docs/assets/"
# Swagger UI would otherwise ask validator.swagger.io to check the document (and show its badge).
CONFIG = {"validatorUrl": None}

blueprint = Blueprint("swagger_ui", __name__, static_folder="static", static_url_path=URL.rstrip("/"))
