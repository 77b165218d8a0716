"""A progress bar for long operator commands (replays, imports, exports) and the demo's long loops.

Drawn on stderr and only when stderr is a terminal: what scripts, pipes and tests read (stdout, JSON,
log lines) stays exactly as it was.
"""

from __future__ import annotations

import sys
from typing import TextIO


class Progress:
    """`Progress("replay", n)` then `.advance()` per item: `label ████░░░ 3/7` redrawn in place."""

    def __init__(self, label: str, total: int, stream: TextIO | None = None):
        self.label, self.total, self.done = label, max(total, 1), 0
        self.stream = stream or sys.stderr
        self.shown = self.stream.isatty()

    def advance(self, by: int = 1) -> None:
        self.done = min(self.done + by, self.total)
        if self.shown:
            filled = round(30 * self.done / self.total)
            bar = "█" * filled + "░" * (30 - filled)
            self.stream.write(f"\r   {self.label} {bar} {self.done}/{self.total}")
            if self.done == self.total:
                self.stream.write("\n")
            self.stream.flush()
