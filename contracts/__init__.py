"""The integration events: one module per producing service, a versioned schema per event.

Importing the package registers every contract.
"""

from . import enrollment, evaluation, finance, quota  # noqa: F401  (registers the contracts)
from .base import Contract, ContractViolation, contract, contracts, event, latest_version, validate
from .common import Money

__all__ = [
    "ContractViolation",
    "Contract",
    "event",
    "contract",
    "contracts",
    "latest_version",
    "validate",
    "Money",
]
