"""The optional SCIM features eim does not offer are said so, in ServiceProviderConfig and in
the answers: 501 with the SCIM error body (RFC 7644 §3.12, §3.11 for /Me), never a 404 page,
a 405 or a list that only looks sorted."""

import pytest
from django.test import Client

from accounts.models import User

from .conftest import ERROR, USER, ScimClient, user_body

pytestmark = pytest.mark.django_db


def _not_implemented(response) -> str:
    assert response.status_code == 501, response.content
    assert response["Content-Type"] == "application/scim+json"
    body = response.json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == "501"
    return body["detail"]


def test_service_provider_config_tells_what_is_supported(scim: ScimClient):
    config = scim.get("/ServiceProviderConfig").json()

    assert config["patch"] == {"supported": True}
    assert config["bulk"]["supported"] is False
    assert config["sort"] == {"supported": False}
    assert config["filter"] == {"supported": True, "maxResults": 200}
    assert config["etag"] == {"supported": True}
    assert config["changePassword"] == {"supported": False}


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_me_is_not_implemented(scim: ScimClient, method: str):
    call = scim.get if method == "get" else getattr(scim, method)
    response = (
        call("/Me") if method in ("get", "delete") else call("/Me", user_body("me@x.example"))
    )

    assert "/Me" in _not_implemented(response)


def test_bulk_is_not_implemented_and_creates_nothing(scim: ScimClient):
    bulk = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "a", "data": user_body("b@x.example")}
        ],
    }

    assert "/Bulk" in _not_implemented(scim.post("/Bulk", bulk))
    assert not User.objects.exists()


@pytest.mark.parametrize("path", ["/.search", "/Users/.search", "/Groups/.search"])
def test_search_by_post_is_not_implemented(scim: ScimClient, path: str):
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]}

    assert ".search" in _not_implemented(scim.post(path, body))


@pytest.mark.parametrize("query", ["sortBy=userName", "sortBy=id&sortOrder=descending"])
def test_a_sorted_list_is_not_implemented(scim: ScimClient, query: str):
    scim.post("/Users", {"schemas": [USER], "userName": "a@x.example"})

    assert "sort" in _not_implemented(scim.get(f"/Users?{query}"))
    assert "sort" in _not_implemented(scim.get(f"/Groups?{query}"))


def test_the_token_is_checked_before_saying_what_is_not_implemented(db):
    response = Client().get("/scim/v2/Me")

    assert response.status_code == 401
