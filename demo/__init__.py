"""The demo: illustrative data (`demo/data/`) and the 2013-14 campaign played through the gateway's REST API."""
