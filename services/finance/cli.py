"""`python -m services.finance invariants [--json]`: the invariant check for operators and auditors.

Exit status 0 when every check has zero drift, 1 otherwise (usable in cron or CI).
"""

from __future__ import annotations

import json

from servicekit import Runtime
from servicekit.service import Command

from .invariants import check


def _invariants(runtime: Runtime, args) -> int:
    with runtime.unit_of_work() as uow:
        report = check(uow.session)
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        print(f"{report['checks']} checks, {len(report['drift'])} with drift: {'PASS' if report['passed'] else 'FAIL'}")
        for finding in report["drift"]:
            print(
                f"  {finding['check']}  {finding['scope']}  expected {finding['expected']}  "
                f"actual {finding['actual']}  drift {finding['drift']}"
            )
    return 0 if report["passed"] else 1


COMMANDS = {
    "invariants": Command(
        help="check the ledger's invariants; exit 1 on any drift",
        run=_invariants,
        arguments=lambda parser: parser.add_argument("--json", action="store_true", help="print the report as JSON"),
    ),
}
