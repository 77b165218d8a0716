"""Evaluation service (考核评估): exam results, retakes, certificates, anonymous surveys, inspections, institution scores."""

from servicekit.cli import main

from .service import SERVICE

raise SystemExit(main(SERVICE))
