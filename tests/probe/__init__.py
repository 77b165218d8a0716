"""A tiny service built only from servicekit, to prove the kit's guarantees end to end.

Its one event carries instructions for its own handler (sleep, fail until an
attempt, be poisonous until cured) so tests can stage every failure the bus
must survive. It is test scaffolding, never deployed.
"""
