"""Quota service (名额与补助): campaigns, organisation units, allocations of seats and subsidy money, reservations."""
