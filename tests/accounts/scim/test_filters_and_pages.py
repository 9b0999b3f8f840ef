"""Filters translated to SQL, and pages (startIndex, count, totalResults)."""

from datetime import timedelta
from urllib.parse import quote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.scim.filters import user_filter_q
from accounts.scim.models import ScimUserProfile

from .conftest import ENTERPRISE, GROUP, ScimClient, user_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(scim: ScimClient) -> list[dict]:
    created = []
    for n in range(5):
        body = user_body(
            f"person{n}@example.com",
            externalId=f"ext-{n}",
            displayName=f"Person {n}",
            **{ENTERPRISE: {"department": "Rates" if n % 2 else "Credit"}},
        )
        body["schemas"].append(ENTERPRISE)
        response = scim.post("/Users", body)
        assert response.status_code == 201
        created.append(response.json())
    return created


def _list(scim: ScimClient, query: str) -> dict:
    response = scim.get(f"/Users?{query}")
    assert response.status_code == 200, response.content
    return response.json()


def _names(body: dict) -> list[str]:
    return [r["userName"] for r in body["Resources"]]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('userName eq "person1@example.com"', ["person1@example.com"]),
        ('userName eq "PERSON1@EXAMPLE.COM"', ["person1@example.com"]),  # caseExact false
        ('USERNAME Eq "person1@example.com"', ["person1@example.com"]),
        ('externalId eq "ext-2"', ["person2@example.com"]),
        ('externalId eq "EXT-2"', []),  # caseExact true
        ('displayName eq "Person 3"', ["person3@example.com"]),
        ('userName sw "person4"', ["person4@example.com"]),
        ('userName co "son0@"', ["person0@example.com"]),
        ('userName ew "3@example.com"', ["person3@example.com"]),
        (
            'userName ne "person0@example.com" and displayName lt "Person 3"',
            ["person1@example.com", "person2@example.com"],
        ),
        (
            'externalId eq "ext-0" or externalId eq "ext-4"',
            ["person0@example.com", "person4@example.com"],
        ),
        ('not (userName sw "person") ', []),
        (
            'department eq "Credit" and not (externalId eq "ext-0")',
            ["person2@example.com", "person4@example.com"],
        ),
        (f'{ENTERPRISE}:department eq "Rates"', ["person1@example.com", "person3@example.com"]),
        ("emails pr", []),
        ("externalId pr and active eq true", [f"person{n}@example.com" for n in range(5)]),
        ("active eq false", []),
        ('id eq "abc"', []),
        ('userName eq "nobody"', []),
    ],
)
def test_filters(scim, people, expression, expected):
    assert _names(_list(scim, f"filter={quote(expression)}")) == expected


def test_meta_last_modified_gt_finds_what_changed_since(scim, people):
    since = timezone.now()
    ScimUserProfile.objects.filter(user_id=people[3]["id"]).update(
        last_modified=since + timedelta(seconds=5)
    )

    stamp = since.isoformat().replace("+00:00", "Z")
    expression = 'meta.lastModified gt "' + stamp + '"'
    body = _list(scim, "filter=" + quote(expression))

    assert _names(body) == ["person3@example.com"]


def test_filter_by_id(scim, people):
    body = _list(scim, "filter=" + quote('id eq "' + people[2]["id"] + '"'))

    assert _names(body) == ["person2@example.com"]


@pytest.mark.parametrize(
    "expression",
    [
        "userName eq",
        'userName eq "unterminated',
        '(userName eq "x"',
        'password eq "secret"',
        'title eq "x"',
        'urn:other:schema:foo eq "x"',
        "active gt true",
        'active eq "yes"',
        'meta.lastModified gt "yesterday"',
        'meta.lastModified co "2020"',
        "userName eq null",
        'emails[type eq "work" and primary eq true]',
    ],
)
def test_bad_filters_are_invalid_filter_400s(scim, people, expression):
    response = scim.get(f"/Users?filter={quote(expression)}")

    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidFilter"


def test_a_filter_runs_as_one_sql_query_not_in_python(scim, people):
    with CaptureQueriesContext(connection) as queries:
        _list(scim, "filter=" + quote('userName eq "person1@example.com"'))

    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert "UPPER" in sql
    assert "person1@example.com" in sql.lower()
    # The token check and its last use, the count, the page: no query per person.
    assert len(queries.captured_queries) <= 5


def test_the_filter_translation_is_a_query_expression():
    q = user_filter_q('userName eq "a" or (externalId eq "b" and active eq true)')

    assert "username__iexact" in str(q)
    assert "scim__external_id__exact" in str(q)


def test_pages(scim, people):
    first = _list(scim, "startIndex=1&count=2")
    second = _list(scim, "startIndex=3&count=2")
    last = _list(scim, "startIndex=5&count=2")
    beyond = _list(scim, "startIndex=9&count=2")

    assert first["totalResults"] == second["totalResults"] == last["totalResults"] == 5
    assert _names(first) == ["person0@example.com", "person1@example.com"]
    assert _names(second) == ["person2@example.com", "person3@example.com"]
    assert _names(last) == ["person4@example.com"]
    assert (last["startIndex"], last["itemsPerPage"]) == (5, 1)
    assert beyond["Resources"] == []
    assert beyond["totalResults"] == 5


def test_page_edge_cases_follow_the_rfc(scim, people):
    zero = _list(scim, "count=0")
    negative = _list(scim, "startIndex=-4&count=-1")
    below_one = _list(scim, "startIndex=0&count=1")
    huge = _list(scim, "count=100000")

    assert (zero["totalResults"], zero["Resources"], zero["itemsPerPage"]) == (5, [], 0)
    assert (negative["startIndex"], negative["Resources"]) == (1, [])
    assert _names(below_one) == ["person0@example.com"]
    assert len(huge["Resources"]) == 5


@pytest.mark.parametrize("query", ["startIndex=one", "count=1.5", "count=ten"])
def test_non_numeric_page_parameters_are_400s(scim, people, query):
    response = scim.get(f"/Users?{query}")

    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"


def test_filter_and_pages_together(scim, people):
    body = _list(scim, "filter=" + quote('department eq "Credit"') + "&startIndex=2&count=1")

    assert body["totalResults"] == 3
    assert _names(body) == ["person2@example.com"]


def test_groups_filter_by_display_name_and_member(scim, people):
    member = people[1]["id"]
    created = scim.post(
        "/Groups", {"schemas": [GROUP], "displayName": "Traders", "members": [{"value": member}]}
    ).json()
    scim.post("/Groups", {"schemas": [GROUP], "displayName": "Sales"})

    by_name = scim.get("/Groups?filter=" + quote('displayName eq "traders"')).json()
    by_member = scim.get("/Groups?filter=" + quote('members[value eq "' + member + '"]')).json()
    no_member = scim.get("/Groups?filter=" + quote('members[value eq "0"]')).json()
    excluded = scim.get(
        "/Groups?filter=" + quote('displayName eq "Traders"') + "&excludedAttributes=members"
    ).json()

    assert [g["id"] for g in by_name["Resources"]] == [created["id"]]
    assert [g["id"] for g in by_member["Resources"]] == [created["id"]]
    assert no_member["totalResults"] == 0
    assert "members" not in excluded["Resources"][0]
