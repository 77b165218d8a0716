"""deploy/kubernetes, rendered offline (kubectl kustomize) and checked object by object: schemas
(validate.py), then what the system needs of them: every process and its command, probes,
resources, autoscalers and disruption budgets, migrations apart and first, secrets referenced and
never embedded, the network policies, one PostgreSQL cluster with a database and a role per
service, a RabbitMQ cluster and quorum queues."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
import yaml

from servicekit.provision import broker_permissions
from servicekit.tracing import exporter_setting

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("quota", "enrollment", "finance", "evaluation")
DATABASES = ("gateway", *SERVICES)
SECRETS = (
    {"upskilling-keys"} | {f"upskilling-db-{db}" for db in DATABASES} | {f"upskilling-broker-{svc}" for svc in SERVICES}
)
# Which process holds which key of upskilling-keys (servicekit.keys): each only its own.
KEYS = {
    "gateway": {
        "GATEWAY_ACCESS_TOKEN_KEY",
        "GATEWAY_CLIENT_SECRET_KEY",
        "IDENTITY_PRIVATE_KEY",
        "EMPLOYEE_ID_KEY",
    },
    "quota": {"IDENTITY_PUBLIC_KEYS"},
    "enrollment": {"IDENTITY_PUBLIC_KEYS", "EMPLOYEE_ID_KEY", "RESIDENT_ID_ENCRYPTION_KEY"},
    "finance": {"IDENTITY_PUBLIC_KEYS"},
    "evaluation": {"IDENTITY_PUBLIC_KEYS", "SURVEY_KEY_ENCRYPTION_KEY"},
    "portal": {"PORTAL_SECRET_KEY"},
}

spec = importlib.util.spec_from_file_location("k8s_validate", ROOT / "deploy" / "kubernetes" / "validate.py")
validate = importlib.util.module_from_spec(spec)
spec.loader.exec_module(validate)


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict]]:
    return {root: validate.render(root) for root in validate.ROOTS}


@pytest.fixture(scope="module")
def production(rendered) -> dict[tuple[str, str], dict]:
    return {(d["kind"], d["metadata"]["name"]): d for d in rendered["overlays/production"]}


def containers(workload: dict) -> list[dict]:
    return workload["spec"]["template"]["spec"]["containers"]


def env(workload: dict) -> dict[str, dict]:
    return {variable["name"]: variable for variable in containers(workload)[0].get("env", [])}


def test_every_object_of_every_overlay_matches_its_schema(rendered):
    for root, documents in rendered.items():
        assert documents, root
        found = [problem for document in documents for problem in validate.problems(document)]
        assert not found, f"{root}: {found}"


def test_the_check_refuses_unknown_fields_in_kubernetes_and_operator_objects(production):
    deployment = production[("Deployment", "gateway")] | {"spec": {**production[("Deployment", "gateway")]["spec"]}}
    deployment["spec"]["replica"] = 2
    assert any("'replica' was unexpected" in p for p in validate.problems(deployment))
    cluster = production[("Cluster", "upskilling-db")]
    broken = cluster | {"spec": {**cluster["spec"], "instance": 3}}
    assert any("'instance' was unexpected" in p for p in validate.problems(broken))
    rabbit = production[("RabbitmqCluster", "upskilling-broker")]
    assert validate.problems(rabbit | {"spec": {**rabbit["spec"], "replicas": "three"}})
    user = production[("User", "upskilling-broker-quota")]
    assert any(
        "'password' was unexpected" in p for p in validate.problems(user | {"spec": {**user["spec"], "password": "x"}})
    )
    permission = production[("Permission", "upskilling-broker-quota")]
    assert any(
        "'vhost' is a required property" in p
        for p in validate.problems(permission | {"spec": {k: v for k, v in permission["spec"].items() if k != "vhost"}})
    )


def test_every_process_runs_the_command_compose_runs(production):
    compose = yaml.safe_load((ROOT / "deploy" / "docker-compose.yml").read_text())["services"]
    named = ["gateway", "evaluation-ingress"] + [f"{svc}-{role}" for svc in SERVICES for role in ("api", "worker")]
    expected = {name: compose[name]["command"] for name in named}
    expected["portal"] = ["gunicorn", "-c", "python:servicekit.gunicorn_conf", "portal.wsgi:app"]
    deployments = {name: d for (kind, name), d in production.items() if kind == "Deployment"}
    assert {name: containers(d)[0]["args"] for name, d in deployments.items()} == expected
    assert {containers(d)[0]["image"] for d in deployments.values()} == {"registry.example.org/upskilling:1.0.0"}


def test_http_processes_are_probed_sized_autoscaled_and_protected_from_disruption(production):
    for (kind, name), deployment in production.items():
        if kind != "Deployment":
            continue
        container = containers(deployment)[0]
        assert container["resources"]["requests"]["cpu"] and container["resources"]["limits"]["memory"], name
        assert (
            container["securityContext"]["readOnlyRootFilesystem"]
            and deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"]
        ), name
        if name == "evaluation-ingress":
            continue  # one consumer of institutions' AMQP batches: neither scaled nor probed over HTTP
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        hpa = production[("HorizontalPodAutoscaler", name)]["spec"]
        assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert hpa["minReplicas"] >= 2, "production keeps two of everything"
        pdb = production[("PodDisruptionBudget", name)]["spec"]
        assert pdb["selector"]["matchLabels"].items() <= labels.items() and pdb["minAvailable"] == 1, name
        if name.endswith("-worker"):
            assert container["livenessProbe"]["httpGet"]["port"] == "metrics"
            continue
        probes = {p: container[f"{p}Probe"]["httpGet"]["path"] for p in ("readiness", "liveness")}
        assert probes == (
            {"readiness": "/healthz", "liveness": "/healthz"}
            if name == "portal"
            else {"readiness": "/readyz", "liveness": "/healthz"}
        ), name


def _millicores(quantity: str) -> int:
    return int(quantity[:-1]) if quantity.endswith("m") else int(float(quantity) * 1000)


@pytest.mark.parametrize("svc", SERVICES)
def test_a_worker_weighs_a_quarter_of_an_api_and_scales_at_the_same_cpu(production, svc):
    # A CPU request is the pod's weight on a busy node: the workers weigh what compose gives them (cpu_shares
    # 256 of 1024), and their autoscaler scales out at the CPU an api's does, not at 70 % of the smaller request.
    def requested(name: str) -> int:
        return _millicores(containers(production[("Deployment", name)])[0]["resources"]["requests"]["cpu"])

    def scales_at(name: str) -> int:
        target = production[("HorizontalPodAutoscaler", name)]["spec"]["metrics"][0]["resource"]["target"]
        if target["type"] == "AverageValue":
            return _millicores(target["averageValue"])
        return requested(name) * target["averageUtilization"] // 100

    assert requested(f"{svc}-worker") * 4 == requested(f"{svc}-api")
    assert scales_at(f"{svc}-worker") == scales_at(f"{svc}-api")


def test_migrations_are_jobs_of_their_own_applied_before_the_rollout(rendered):
    for environment in ("production", "staging"):
        jobs = {d["metadata"]["name"]: d for d in rendered[f"overlays/{environment}/migrations"] if d["kind"] == "Job"}
        assert {name: containers(job)[0]["args"] for name, job in jobs.items()} == {
            "gateway-migrate": ["python", "-m", "gateway", "migrate"],
            **{f"{svc}-migrate": ["python", "-m", f"services.{svc}", "migrate"] for svc in SERVICES},
        }
        for job in jobs.values():
            assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
            assert job["spec"]["ttlSecondsAfterFinished"] and job["spec"]["backoffLimit"] >= 1
        assert not [d for d in rendered[f"overlays/{environment}"] if d["kind"] == "Job"], "the rollout has no Job"
        app_image = {
            containers(d)[0]["image"] for d in rendered[f"overlays/{environment}"] if d["kind"] == "Deployment"
        }
        assert {containers(job)[0]["image"] for job in jobs.values()} == app_image, "the same release"


def test_each_process_reaches_its_own_database_and_the_broker_with_referenced_secrets(rendered, production):
    for root, documents in rendered.items():
        assert not [d for d in documents if d["kind"] == "Secret"], f"{root}: secrets are the operator's, not files"
        workloads = [d for d in documents if d["kind"] in {"Deployment", "Job"}]
        for workload in workloads:
            for variable in env(workload).values():
                if "valueFrom" in variable:
                    assert variable["valueFrom"]["secretKeyRef"]["name"] in SECRETS, variable
                else:
                    assert not re.search(r"(?i)password|secret|key", variable["name"]) or "$(" in variable["value"], (
                        f"{workload['metadata']['name']}: {variable['name']} written in the manifest"
                    )
    for name in [f"{svc}-{role}" for svc in SERVICES for role in ("api", "worker")] + ["gateway"]:
        variables = env(production[("Deployment", name)])
        database = name.split("-")[0]
        (url_name,) = [v for v in variables if v.endswith("_DATABASE_URL")]
        assert url_name == f"{database.upper()}_DATABASE_URL"
        assert variables[url_name]["value"].endswith(f"@upskilling-db-rw:5432/{database}")
        assert variables["DB_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == f"upskilling-db-{database}"
        # The gateway signs the identity header; the services hold only the public keys to check it.
        identity_key = "IDENTITY_PRIVATE_KEY" if name == "gateway" else "IDENTITY_PUBLIC_KEYS"
        assert variables[identity_key]["valueFrom"]["secretKeyRef"]["name"] == "upskilling-keys"
        assert not {"IDENTITY_SIGNING_KEY", "GATEWAY_SECRET_KEY"} & set(variables)
        if name != "gateway":
            assert not {"IDENTITY_PRIVATE_KEY", "GATEWAY_ACCESS_TOKEN_KEY", "GATEWAY_CLIENT_SECRET_KEY"} & set(
                variables
            )
        if name != "gateway":
            assert variables["BROKER_URL"]["value"].startswith(
                "amqp://$(BROKER_USER):$(BROKER_PASSWORD)@upskilling-broker:"
            )
            for variable in ("BROKER_USER", "BROKER_PASSWORD"):  # its own user, never the operator's default one
                assert variables[variable]["valueFrom"]["secretKeyRef"]["name"] == f"upskilling-broker-{database}"
    evaluation = [w for w in rendered["overlays/production"] + rendered["overlays/production/migrations"]]
    evaluation = [
        w for w in evaluation if w["kind"] in {"Deployment", "Job"} and w["metadata"]["name"].startswith("evaluation-")
    ]
    assert len(evaluation) == 4, "api, worker, ingress, migrate"
    for workload in evaluation:  # its survey keys are encrypted under this one: the same everywhere
        key = env(workload)["SURVEY_KEY_ENCRYPTION_KEY"]["valueFrom"]["secretKeyRef"]
        assert key == {"name": "upskilling-keys", "key": "SURVEY_KEY_ENCRYPTION_KEY"}
    gateway = env(production[("Deployment", "gateway")])
    assert {gateway[f"{svc.upper()}_URLS"]["value"] for svc in SERVICES} == {
        f"http://{svc}-api:8000" for svc in SERVICES
    }
    services = {name for kind, name in production if kind == "Service"}
    assert {f"{svc}-api" for svc in SERVICES} | {"gateway", "portal"} == services


def test_each_process_holds_only_its_own_keys(rendered):
    for root, documents in rendered.items():
        for workload in [d for d in documents if d["kind"] in {"Deployment", "Job"}]:
            owner = workload["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"]
            held = {
                variable["valueFrom"]["secretKeyRef"]["key"]
                for variable in env(workload).values()
                if variable.get("valueFrom", {}).get("secretKeyRef", {}).get("name") == "upskilling-keys"
            }
            assert held == KEYS[owner], f"{root}: {workload['metadata']['name']}"


def test_each_service_has_its_own_broker_user_limited_to_its_queues_and_the_events_exchange(production):
    users = {name: d["spec"] for (kind, name), d in production.items() if kind == "User"}
    permissions = {name: d["spec"] for (kind, name), d in production.items() if kind == "Permission"}
    assert set(users) == set(permissions) == {f"upskilling-broker-{svc}" for svc in SERVICES}
    for svc in SERVICES:
        name = f"upskilling-broker-{svc}"
        assert users[name] == {
            "rabbitmqClusterReference": {"name": "upskilling-broker"},
            "importCredentialsSecret": {"name": name},  # username: svc (the user_id consumers check), password
        }
        assert "tags" not in users[name], "no management access"
        configure, write, read = broker_permissions("", svc)  # what servicekit.provision grants locally
        assert permissions[name] == {
            "rabbitmqClusterReference": {"name": "upskilling-broker"},
            "vhost": "/",
            "userReference": {"name": name},
            "permissions": {"configure": configure, "write": write, "read": read},
        }
    assert re.fullmatch(permissions["upskilling-broker-quota"]["permissions"]["read"], "quota.payment.recorded")
    assert not re.fullmatch(permissions["upskilling-broker-quota"]["permissions"]["read"], "finance.payment.recorded")


def test_traces_are_off_by_default_and_the_standard_settings_turn_them_on(production):
    data = production[("ConfigMap", "upskilling-config")]["data"]
    assert exporter_setting(data) is None
    on = data | {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector.monitoring:4318"}
    assert exporter_setting(on) == "otlp"


def test_one_postgresql_cluster_a_database_and_role_per_service_and_a_rabbitmq_cluster_with_quorum_queues(production):
    clusters = [d for (kind, _), d in production.items() if kind == "Cluster"]
    assert len(clusters) == 1 and clusters[0]["spec"]["instances"] == 3
    roles = {role["name"]: role for role in clusters[0]["spec"]["managed"]["roles"]}
    assert set(roles) == set(DATABASES)
    assert {name: role["passwordSecret"]["name"] for name, role in roles.items()} == {
        db: f"upskilling-db-{db}" for db in DATABASES
    }
    for role in roles.values():  # plain login roles: each owns its database and has no other power
        assert role["login"] and not any(role.get(p) for p in ("superuser", "createdb", "createrole", "replication"))
    databases = [d["spec"] for (kind, _), d in production.items() if kind == "Database"]
    assert sorted((d["name"], d["owner"], d["cluster"]["name"]) for d in databases) == sorted(
        (db, db, "upskilling-db") for db in DATABASES
    )
    (rabbit,) = [d for (kind, _), d in production.items() if kind == "RabbitmqCluster"]
    assert rabbit["metadata"]["name"] == "upskilling-broker" and rabbit["spec"]["replicas"] == 3
    assert production[("ConfigMap", "upskilling-config")]["data"]["BUS_QUEUE_TYPE"] == "quorum"


def _selects(selector: dict, labels: dict) -> bool:
    matched = selector.get("matchLabels", {}).items() <= labels.items()
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In"
        matched &= labels.get(expression["key"]) in expression["values"]
    return matched


def test_only_the_gateway_reaches_the_services_and_the_portal_reaches_only_the_gateway(production):
    policies = [d["spec"] for (kind, _), d in production.items() if kind == "NetworkPolicy"]
    pods = {
        name: d["spec"]["template"]["metadata"]["labels"]
        for (kind, name), d in production.items()
        if kind == "Deployment"
    }

    def ingress_sources(labels: dict) -> list[dict]:
        applying = [p for p in policies if "Ingress" in p["policyTypes"] and _selects(p["podSelector"], labels)]
        assert applying, f"no policy isolates {labels}"
        return [source for p in applying for rule in p.get("ingress", []) for source in rule.get("from", [{}])]

    for svc in SERVICES:
        sources = ingress_sources(pods[f"{svc}-api"])
        for source in sources:
            if "podSelector" in source:
                assert _selects(source["podSelector"], pods["gateway"])
                assert not _selects(source["podSelector"], pods["portal"])
            else:
                assert source["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "monitoring"}
        assert any("podSelector" in s for s in sources), "the gateway may reach it"
        assert all("namespaceSelector" in s or "podSelector" in s for s in sources), "nobody else"
        assert all(s.get("namespaceSelector") for s in ingress_sources(pods[f"{svc}-worker"])), "monitoring only"

    (portal,) = [p for p in policies if "Egress" in p["policyTypes"] and _selects(p["podSelector"], pods["portal"])]
    destinations = [to for rule in portal["egress"] for to in rule["to"]]
    in_namespace = [to["podSelector"] for to in destinations if "namespaceSelector" not in to]
    assert len(in_namespace) == 1 and _selects(in_namespace[0], pods["gateway"])
    assert not any(_selects(in_namespace[0], pods[f"{svc}-api"]) for svc in SERVICES)
    (dns,) = [to for to in destinations if "namespaceSelector" in to]
    assert dns["podSelector"]["matchLabels"] == {"k8s-app": "kube-dns"}
