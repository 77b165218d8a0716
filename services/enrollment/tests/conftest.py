import pytest

from .helpers import Enrollment


@pytest.fixture
def enrollment(stack_of):
    """The enrollment service on fresh databases, with a campaign, units, programmes and a unit's plan."""
    return Enrollment(stack_of("enrollment")).ready()
