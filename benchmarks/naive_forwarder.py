"""The baseline the gateway is measured against: the plainest Flask forwarder (requests, a session per worker),
with no authentication, limits or logging. Served by gunicorn from gateway_throughput.py; never deployed."""

from __future__ import annotations

import os

import requests
from flask import Flask, Response, request

UPSTREAM = os.environ["NAIVE_UPSTREAM"]
app = Flask("naive-forwarder")
session = requests.Session()


@app.route("/api/<service>/<path:rest>", methods=["GET", "POST", "PUT", "DELETE"])
def forward(service: str, rest: str):
    answer = session.request(
        request.method,
        f"{UPSTREAM}/{rest}",
        params=request.args,
        data=request.get_data(),
        headers={"Content-Type": request.content_type or ""},
    )
    return Response(answer.content, status=answer.status_code, content_type=answer.headers.get("Content-Type"))
