"""A git merge driver for the message catalogues (*.po): both sides' messages, never a conflict.

Two branches that each add messages touch neighbouring lines of a sorted catalogue (and its header's
date), so git's line merge conflicts where nothing really does. This driver keeps our side and adds every
message only theirs has; a message both have keeps our translation unless ours is empty. `./dev messages`
(and portal.catalogue) afterwards drop what the code no longer uses. Set up once per clone:

    git config merge.catalogue.driver "python -m servicekit.catalogue_merge %A %B %P"

(.gitattributes names the driver for *.po; without the setting git merges them line by line as before.)
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po


def merge(ours_path: Path, theirs_path: Path, sort_output: bool) -> None:
    with ours_path.open("rb") as file:
        ours = read_po(file)
    with theirs_path.open("rb") as file:
        theirs = read_po(file)
    for message in theirs:
        if not message.id:
            continue  # the header: ours stays
        kept = ours.get(message.id, message.context)
        if kept is None:
            ours[message.id] = message
        elif not kept.string and message.string:
            kept.string = message.string
    with ours_path.open("wb") as file:
        write_po(file, ours, width=120, ignore_obsolete=True, sort_output=sort_output)


def main(argv: list[str]) -> int:
    ours, theirs, path = argv
    # The shared catalogue is kept sorted by servicekit.catalogue; the portal's keeps the order of its pages.
    merge(Path(ours), Path(theirs), sort_output=path.startswith("servicekit/"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
