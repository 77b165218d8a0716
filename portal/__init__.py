"""The web portal (门户): a server-rendered Chinese workspace for the federation, the auditor, first-level unit and
grassroots union officers. A client of the gateway's REST API and nothing else (no service URL, no database, no
event bus): app (the Flask application), gateway (the API client, tokens refreshed on expiry), sessions (tokens
kept server-side), views/* (the pages per role), static/ (every asset, pinned, served by the portal itself).
"""
