"""Evaluation service (考核评估): exam results, retakes, certificates, anonymous surveys, inspections, institution scores."""
