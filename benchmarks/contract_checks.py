"""What checking an event against its contract costs: the quick check (contracts/fast.py) beside marshmallow's load.

    python benchmarks/contract_checks.py [--repeat 2000]

For each contract's example payload (contracts/tests/test_contracts.py), strict as its producer checks it and
lenient as a consumer does: microseconds a check by marshmallow's `Schema.load` and by `contracts.validate`
(the quick check, marshmallow only where it is unsure), and their ratio; then the totals over the catalogue.
No servers needed. A script, not a test.
"""

from __future__ import annotations

import argparse
import sys
import timeit
from pathlib import Path

from marshmallow import EXCLUDE, RAISE

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import contracts  # noqa: E402
from contracts.tests.test_contracts import EXAMPLES  # noqa: E402


def microseconds(check, repeat: int) -> float:
    return min(timeit.repeat(check, number=repeat, repeat=3)) / repeat * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=2000, help="checks timed per figure (best of three)")
    args = parser.parse_args()
    totals = {"strict": [0.0, 0.0], "lenient": [0.0, 0.0]}
    print(f"{'event':34s} {'':8s} {'marshmallow':>12s} {'quick':>8s} {'ratio':>6s}")
    for event_type, data in sorted(EXAMPLES.items()):
        version = contracts.latest_version(event_type)
        for mode, unknown in (("strict", RAISE), ("lenient", EXCLUDE)):
            schema = contracts.contract(event_type, version).schema(unknown=unknown)
            slow = microseconds(lambda schema=schema, data=data: schema.load(data), args.repeat)
            quick = microseconds(
                lambda event_type=event_type, version=version, mode=mode, data=data: contracts.validate(
                    event_type, version, data, strict=mode == "strict"
                ),
                args.repeat,
            )
            totals[mode][0] += slow
            totals[mode][1] += quick
            print(f"{event_type:34s} {mode:8s} {slow:9.1f} µs {quick:5.1f} µs {slow / quick:5.1f}x")
    for mode, (slow, quick) in totals.items():
        print(
            f"{'all ' + str(len(EXAMPLES)) + ' contracts':34s} {mode:8s} {slow:9.1f} µs {quick:5.1f} µs {slow / quick:5.1f}x"
        )


if __name__ == "__main__":
    main()
