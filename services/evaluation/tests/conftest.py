import pytest

from .helpers import Evaluation, campaign


@pytest.fixture
def evaluation(stack_of):
    ev = Evaluation(stack_of("evaluation"))
    ev.deliver("campaign.published", campaign())
    return ev
