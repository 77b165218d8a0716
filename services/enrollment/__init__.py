"""Enrollment service (报名与学籍): institutions, catalogue, nominations, registration, classes, rosters, training ledger."""
