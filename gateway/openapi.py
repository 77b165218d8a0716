"""/api/openapi.json, one document of every service's API, and /api/docs to browse it."""

from __future__ import annotations

import contextvars
import json
import logging
from concurrent.futures import ThreadPoolExecutor

from flask import Blueprint, Response, current_app, g, jsonify, url_for

from servicekit import swagger_ui

from .upstreams import UpstreamError, Upstreams, current_upstreams

log = logging.getLogger(__name__)
blueprint = Blueprint("openapi", __name__)

# A service slow to describe itself should not hold up the whole document for long.
FETCH_TIMEOUT = 3.0
COMPONENTS = "#/components/"
OPERATIONS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


@blueprint.get("/api/openapi.json")
def merged_openapi():
    upstreams, request_id = current_upstreams(), g.request_id  # the threads have no app context
    context = contextvars.copy_context()  # but their log lines keep the request id

    def fetch(service: str) -> dict | None:
        return context.copy().run(_fetch, upstreams, service, request_id)

    with ThreadPoolExecutor(max_workers=len(upstreams.services)) as pool:
        documents = dict(zip(upstreams.services, pool.map(fetch, upstreams.services)))
    return jsonify(merge(documents, current_app.extensions["gateway.api"].spec.to_dict()))


@blueprint.get("/api/docs")
def docs():
    spec_url = json.dumps(url_for(".merged_openapi"))
    page = DOCS_PAGE.replace("{spec_url}", spec_url).replace("{assets}", swagger_ui.URL)
    return Response(page.replace("{config}", json.dumps(swagger_ui.CONFIG)), mimetype="text/html")


def _fetch(upstreams: Upstreams, service: str, request_id: str) -> dict | None:
    """The service's own document, or None when it cannot give one."""
    try:
        status, body, _headers = upstreams.fetch(
            service, "/openapi.json", {"Accept": "application/json", "X-Request-ID": request_id}, FETCH_TIMEOUT
        )
        if status == 200:
            return json.loads(body)
        log.warning("openapi unavailable", extra={"upstream_service": service, "upstream_status": status})
    except (UpstreamError, ValueError) as exc:
        reason = exc.detail if isinstance(exc, UpstreamError) else "invalid JSON"
        log.warning("openapi unavailable", extra={"upstream_service": service, "error": reason})
    return None


def merge(documents: dict[str, dict | None], gateway: dict | None = None) -> dict:
    """One OpenAPI 3.1 document: paths under /api/<service>, component names prefixed by the service;
    the gateway's own /auth paths (components prefixed Gateway) first."""
    merged = {
        "openapi": "3.1.0",
        "info": {
            "title": "Upskilling API",
            "version": "1",
            "description": "Every service's API, as reached through the gateway. Log in with "
            "POST /auth/token and send `Authorization: Bearer <access_token>`; "
            "institution systems sign each request instead (X-Api-Key, X-Timestamp, "
            "X-Nonce, X-Signature).",
        },
        "paths": {},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
        "security": [{"bearer": []}],
        "tags": [],
        "x-unavailable-services": [],
    }
    if gateway is not None:
        _add(merged, gateway, "", "Gateway", "auth")
    for service, document in documents.items():
        if not isinstance(document, dict):
            merged["x-unavailable-services"].append(service)
            continue
        _add(merged, document, f"/api/{service}", service.title(), service)
    return merged


def _add(merged: dict, document: dict, path_prefix: str, prefix: str, tag: str) -> None:
    document = _with_prefixed_refs(document, prefix)
    security = document.get("security")
    for path, item in (document.get("paths") or {}).items():
        merged["paths"][f"{path_prefix}{path}"] = _tagged(path, item, tag, prefix.lower(), security)
    for kind, entries in (document.get("components") or {}).items():
        target = merged["components"].setdefault(kind, {})
        for name, value in entries.items():
            if kind == "securitySchemes":  # referred to by bare name, not by $ref
                target.setdefault(name, value)
            else:
                target[prefix + name] = value
    title = (document.get("info") or {}).get("title", tag)
    merged["tags"].append({"name": tag, "description": title})


def _with_prefixed_refs(node, prefix: str):
    """A copy with every "#/components/<kind>/<Name>" reference renamed to <Prefix><Name>."""
    if isinstance(node, list):
        return [_with_prefixed_refs(value, prefix) for value in node]
    if not isinstance(node, dict):
        return node
    copy = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str):
            copy[key] = _prefixed_ref(value, prefix)
        elif key == "discriminator" and isinstance(value, dict) and isinstance(value.get("mapping"), dict):
            # Discriminator mappings hold references too, as plain strings.
            mapping = {tag: _prefixed_ref(ref, prefix) for tag, ref in value["mapping"].items()}
            copy[key] = value | {"mapping": mapping}
        else:
            copy[key] = _with_prefixed_refs(value, prefix)
    return copy


def _prefixed_ref(ref: str, prefix: str) -> str:
    if not isinstance(ref, str) or not ref.startswith(COMPONENTS):
        return ref
    kind, _, name = ref[len(COMPONENTS) :].partition("/")
    if not name or kind == "securitySchemes":
        return ref
    return f"{COMPONENTS}{kind}/{prefix}{name}"


def _tagged(path: str, item: dict, tag: str, owner: str, security) -> dict:
    item = dict(item)
    for method, operation in item.items():
        if method not in OPERATIONS or not isinstance(operation, dict):
            continue
        operation = operation | {"tags": [tag]}
        # Unique across documents, as OpenAPI requires: <owner>_<function> (servicekit.openapi names them so).
        own = operation.get("operationId") or f"{method}_{_slug(path)}"
        operation["operationId"] = own if own.startswith(f"{owner}_") else f"{owner}_{own}"
        if security is not None and "security" not in operation:
            operation["security"] = security  # the service's default would be lost with its document
        item[method] = operation
    return item


def _slug(path: str) -> str:
    return "_".join(part.strip("{}") for part in path.split("/") if part).replace("-", "_")


DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Upskilling API</title>
  <link rel="stylesheet" href="{assets}swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{assets}swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle(Object.assign({url: {spec_url}, dom_id: "#swagger-ui", deepLinking: true}, {config}));
  </script>
</body>
</html>
"""
