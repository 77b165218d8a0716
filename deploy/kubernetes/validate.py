"""Render every overlay of deploy/kubernetes and check every object, offline.

    python deploy/kubernetes/validate.py        (./dev check and .ci/run run it)

Rendering is `kubectl kustomize` (kustomize built into kubectl). Kubernetes' own kinds are checked
against the API's published schemas for KUBERNETES_VERSION (kubernetes-validate, strict: an unknown
field fails); the operators' kinds (CloudNativePG's Cluster and Database, RabbitmqCluster, the messaging
topology operator's User and Permission) against their CustomResourceDefinitions vendored in schemas/,
made strict the same way.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import jsonschema
import kubernetes_validate
import yaml

HERE = Path(__file__).resolve().parent
KUBERNETES_VERSION = "1.32.0"
# What an operator applies: each environment's migrations, then the environment itself.
ROOTS = ("overlays/production/migrations", "overlays/production", "overlays/staging/migrations", "overlays/staging")


def render(root: str) -> list[dict]:
    """The objects `kubectl kustomize deploy/kubernetes/<root>` makes."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise RuntimeError("kubectl (with kustomize built in) is needed to render deploy/kubernetes")
    built = subprocess.run([kubectl, "kustomize", str(HERE / root)], capture_output=True, text=True, timeout=120)
    if built.returncode != 0:
        raise RuntimeError(f"kubectl kustomize {root} failed:\n{built.stderr}")
    return [document for document in yaml.safe_load_all(built.stdout) if document]


@cache
def crd_schemas() -> dict[tuple[str, str], dict]:
    """(apiVersion, kind) -> the strict JSON schema of every vendored CustomResourceDefinition's versions."""
    schemas = {}
    for path in sorted((HERE / "schemas").glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            schemas[(f"{group}/{version['name']}", kind)] = strict(version["schema"]["openAPIV3Schema"])
    return schemas


def strict(schema):
    """The schema with unknown fields refused wherever it lists the fields and does not say to keep others."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    tightened = {key: strict(value) for key, value in schema.items()}
    if (
        "properties" in schema
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        tightened["additionalProperties"] = False
    return tightened


def problems(document: dict) -> list[str]:
    """What is wrong with one object (nothing: an empty list)."""
    name = f"{document.get('kind')}/{(document.get('metadata') or {}).get('name')}"
    schema = crd_schemas().get((document.get("apiVersion"), document.get("kind")))
    if schema is not None:
        validator = jsonschema.Draft7Validator(schema)
        return [
            f"{name}: {'.'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
            for e in validator.iter_errors(document)
        ]
    try:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        return [f"{name}: {'.'.join(map(str, error.path)) or '(top)'}: {error.message}"]
    except kubernetes_validate.SchemaNotFoundError:
        return [f"{name}: no schema for {document.get('apiVersion')} {document.get('kind')}"]
    return []


def main() -> int:
    failures = 0
    for root in ROOTS:
        try:
            documents = render(root)
        except RuntimeError as error:
            print(error, file=sys.stderr)
            failures += 1
            continue
        found = [problem for document in documents for problem in problems(document)]
        for problem in found:
            print(f"{root}: {problem}", file=sys.stderr)
        failures += len(found)
        print(f"{root}: {len(documents)} objects, {len(found)} problems")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
