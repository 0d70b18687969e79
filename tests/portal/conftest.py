import pytest

from tests.portal.helpers import make_access


@pytest.fixture
def ava(workspace):
    """Ava, a member of alice's workspace, with a portal login."""
    return make_access(workspace, name="Ava Trails", email="ava@creators.test")


@pytest.fixture
def ben(workspace):
    """Ben, another member of the same workspace."""
    return make_access(workspace, name="Ben Hikes", email="ben@creators.test")


@pytest.fixture
def cleo(other_workspace):
    """Cleo, a member of charlie's workspace."""
    return make_access(other_workspace, name="Cleo Climbs", email="cleo@creators.test")
