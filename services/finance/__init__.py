"""Finance service (经费): cost-sharing policies, fee breakdowns, payments, fund transfers, reimbursements, ledger."""
