import pytest
from rest_framework.test import APIClient


@pytest.fixture
def api(api_key):
    """An API client carrying alice's workspace key."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key}")
    return client


@pytest.fixture
def other_api(other_api_key):
    """An API client carrying charlie's workspace key."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {other_api_key}")
    return client
