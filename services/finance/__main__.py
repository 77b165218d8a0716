from servicekit.cli import main

from .service import SERVICE

raise SystemExit(main(SERVICE))
