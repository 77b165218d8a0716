"""What every service is built from: app factory, configuration, unit of work, the bus."""

from . import i18n  # noqa: F401  (first: marks marshmallow's messages before any schema is declared)
from .app import create_app, unit_of_work
from .bus import localfs  # noqa: F401  (registers the embedded broker's transport with kombu)
from .errors import Problem, define_problem
from .service import Runtime, Service

__all__ = ["create_app", "unit_of_work", "Problem", "define_problem", "Runtime", "Service"]
