"""The API gateway: the only public entry, forwarding /api/<service>/... to the services."""
