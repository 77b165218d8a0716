"""The API gateway: the only public entry, forwarding /api/<service>/... to the services.

app: one ASGI app per process (asgi, served by worker.GatewayWorker): proxy forwards /api/... on the event
loop, the rest goes to the gateway's own Flask routes; upstreams/breaker: pooled round-robin connections,
a circuit breaker per instance;
guard: who calls (bearer JWT, external JWKS token, or an institution system's signed request),
the route table (policy), rate limits (limits); accounts/tokens/keys: users, machine clients,
access and refresh tokens; auth_api: /auth/* logins and machine clients; users_api: the federation's
user management (/auth/users); cors: browser portals' origins; openapi: the merged document; health: probes.
Its own database (models, migrations) is migrated like a service's: `python -m gateway migrate`.
"""
