"""Pure business rules of enrollment: no Flask, no SQL."""
