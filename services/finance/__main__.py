import sys

from servicekit.cli import main

from .service import SERVICE

if sys.argv[1:2] == ["invariants"]:
    # Finance's own command (servicekit's CLI has no hook for service commands).
    from .cli import invariants
    raise SystemExit(invariants(SERVICE, sys.argv[2:]))
raise SystemExit(main(SERVICE))
