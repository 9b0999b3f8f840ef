"""Employee search never returns messages from a conversation the searcher could not be in:
one an information barrier made read-only is out of their scope (docs/barriers.md)."""

import pytest

from tests.chat.barriers.conftest import barrier_in_force, people  # noqa: F401 - fixture
from tests.conftest import api_as
from tests.factories import ChannelFactory, direct_conversation, send

from .search_world import archive_and_index

pytestmark = pytest.mark.usefixtures("archive_blobs")


def _bodies(client, query: str) -> set[str]:  # type: ignore[no-untyped-def]
    response = client.get("/api/v1/search", {"q": query})
    assert response.status_code == 200, response.content
    return {r["body"] for r in response.json()["results"]}


def test_employee_search_leaves_out_a_conversation_across_a_barrier(people):  # noqa: F811
    dm = direct_conversation(people.rita, people.tom)
    lab = ChannelFactory(creator=people.rita, members=[people.ruth], name="lab")
    send(people.tom, dm, "merger rumour from the desk")
    send(people.ruth, lab, "merger model updated")
    archive_and_index()
    rita = api_as(people.rita)
    assert _bodies(rita, "merger") == {"merger rumour from the desk", "merger model updated"}

    barrier_in_force(people.admin, people.research, people.trading)

    assert _bodies(rita, "merger") == {"merger model updated"}
    assert _bodies(api_as(people.tom), "merger") == set()
    assert _bodies(api_as(people.ruth), "merger") == {"merger model updated"}
