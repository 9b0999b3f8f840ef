"""Policies over the API: compliance officers only, each change a new version, audited; the
test box and the back-test."""

import pytest

from accounts.models import Role
from archive.services.archiving import archive_pending
from audit.models import AuditEvent, AuditEventType
from compliance.models import Policy, PolicyVersion
from tests.conftest import api_as
from tests.factories import ChannelFactory, UserFactory, send

URL = "/api/v1/compliance/policies"
BODY = {
    "name": "Promises",
    "conditions": {"lexicons": [{"name": "promises", "terms": ["guarantee"]}]},
    "actions": ["flag"],
}


def policy_rows() -> list[tuple]:
    return list(PolicyVersion.objects.order_by("pk").values_list("policy__name", "number"))


def test_an_officer_creates_and_changes_a_policy_each_change_a_version_audited(officer):
    created = api_as(officer).post(URL, BODY, format="json")
    changed = api_as(officer).put(
        f"{URL}/{created.json()['id']}",
        {**BODY, "actions": ["flag", "block"], "note": "block it now"},
        format="json",
    )
    history = api_as(officer).get(f"{URL}/{created.json()['id']}")

    assert created.status_code == 201
    assert (changed.status_code, changed.json()["version"]) == (200, 2)
    assert [v["version"] for v in history.json()["versions"]] == [2, 1]
    events = AuditEvent.objects.filter(event_type__startswith="policy.").order_by("seq")
    assert [(e.event_type, e.details["version"]) for e in events] == [
        (AuditEventType.POLICY_CREATED, 1),
        (AuditEventType.POLICY_CHANGED, 2),
    ]
    assert events[1].details["actions"] == ["flag", "block"]


@pytest.mark.parametrize(
    "roles", [[Role.ADMINISTRATOR], [Role.EMPLOYEE], [Role.AUDITOR]], ids=lambda r: r[0]
)
def test_only_compliance_officers_edit_policies(roles, officer):
    api_as(officer).post(URL, BODY, format="json")
    someone = UserFactory(roles=roles, is_superuser=True)
    before = policy_rows()
    policy_id = Policy.objects.get().pk

    created = api_as(someone).post(URL, {**BODY, "name": "Other"}, format="json")
    changed = api_as(someone).put(f"{URL}/{policy_id}", {**BODY, "enabled": False}, format="json")

    assert (created.status_code, changed.status_code) == (403, 403)
    assert policy_rows() == before


def test_an_officer_cannot_change_a_policy_that_supervises_them(officer):
    other = UserFactory(roles=[Role.COMPLIANCE_OFFICER])
    body = {**BODY, "scope": {"users": [officer.pk]}}
    policy_id = api_as(other).post(URL, body, format="json").json()["id"]
    before = policy_rows()

    response = api_as(officer).put(f"{URL}/{policy_id}", {**body, "enabled": False}, format="json")

    assert response.status_code == 403
    assert "supervises you" in response.json()["detail"]
    assert policy_rows() == before


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({"conditions": {"patterns": [{"name": "p", "regex": "("}]}}, "pattern 'p'"),
        ({"actions": ["delete"]}, "actions"),
        ({"actions": ["warn", "block"]}, "warn or block"),
        ({"scope": {"kinds": ["forum"]}}, "kinds"),
        ({"name": "  "}, "short name"),
    ],
)
def test_a_policy_that_cannot_be_used_is_refused_clearly(officer, change, detail):
    response = api_as(officer).post(URL, {**BODY, **change}, format="json")

    assert response.status_code == 400
    assert detail in response.json()["detail"]
    assert policy_rows() == []


def test_the_test_box_shows_what_a_text_would_hit(officer):
    response = api_as(officer).post(
        f"{URL}/test",
        {"conditions": BODY["conditions"], "text": "We GUARANTEE it"},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["hits"] == [
        {
            "kind": "term",
            "name": "promises",
            "term": "guarantee",
            "start": 3,
            "end": 12,
            "text": "GUARANTEE",
        }
    ]
    assert AuditEvent.objects.filter(event_type=AuditEventType.POLICY_TESTED).count() == 1


def test_a_back_test_counts_what_a_draft_would_have_raised(officer, alice):
    channel = ChannelFactory(creator=alice)
    for body in ["I guarantee it", "guarantee, guarantee", "nothing", "we promise"]:
        send(alice, channel, body)
    archive_pending()
    draft = {"lexicons": [{"name": "p", "terms": ["guarantee", "promise"]}]}

    response = api_as(officer).post(
        f"{URL}/backtest", {"conditions": draft, "days": 7}, format="json"
    )

    result = response.json()
    assert (result["items"], result["records_scanned"]) == (3, 4)
    assert result["terms"] == {"guarantee": 3, "promise": 1}
    assert not PolicyVersion.objects.exists()
