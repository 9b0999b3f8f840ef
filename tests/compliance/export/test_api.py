"""The export API: who may request, follow, download and delete exports, and the audit of
each. Every refusal leaves no job and no audit event behind."""

import io
import zipfile

import pytest
from django.db.models import Q

from accounts.models import Role
from audit.models import AuditEvent, AuditEventType
from compliance.export import selectors
from compliance.export.files import export_storage, walk
from compliance.export.models import ExportJob, ExportRecord
from tests.conftest import api_as
from tests.factories import UserFactory

from .conftest import World, run_to_end

pytestmark = pytest.mark.django_db

URL = "/api/v1/compliance/exports/"


def _state() -> tuple[list, list]:
    return (
        list(ExportJob.objects.values_list("pk", "state")),
        list(AuditEvent.objects.values_list("seq", "event_type")),
    )


@pytest.mark.parametrize(
    "roles", [[], [Role.EMPLOYEE], [Role.ADMINISTRATOR], [Role.AUDITOR]], ids=str
)
def test_only_compliance_officers_may_request_an_export(world: World, roles):
    user = UserFactory(roles=roles)
    before = _state()

    response = api_as(user).post(URL, {"query": "shares", "formats": ["jsonl"]}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert _state() == before


def test_a_superuser_without_the_role_is_refused(world: World):
    user = UserFactory(is_superuser=True, is_staff=True)
    before = _state()

    response = api_as(user).post(URL, {"query": "shares"}, format="json")

    assert response.status_code == 403
    assert _state() == before


def test_an_anonymous_request_is_refused(api, world: World):
    before = _state()

    response = api.post(URL, {"query": "shares"}, format="json")

    assert response.status_code in (401, 403)
    assert _state() == before


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"query": 'insider "trading'}, "invalid_query"),
        ({"query": ""}, "invalid_export"),
        ({"query": "x", "since": "2024-03-02", "until": "2024-03-01"}, "invalid_export"),
    ],
)
def test_a_request_that_cannot_run_is_refused_with_its_reason(officer, world, body, code):
    before = _state()

    response = api_as(officer).post(URL, body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert _state() == before


def test_unknown_formats_and_bad_ids_are_refused(officer, world):
    before = _state()

    bad_format = api_as(officer).post(URL, {"query": "x", "formats": ["pst"]}, format="json")
    bad_ids = api_as(officer).post(URL, {"message_ids": [0, "x"]}, format="json")

    assert (bad_format.status_code, bad_ids.status_code) == (400, 400)
    assert _state() == before


def test_an_officer_requests_an_export_and_the_request_is_audited(officer, world):
    response = api_as(officer).post(
        URL, {"query": "shares", "formats": ["csv", "jsonl"]}, format="json"
    )

    assert response.status_code == 202
    job = ExportJob.objects.get()
    assert response.json()["id"] == str(job.pk)
    assert response.json()["state"] == "queued"
    assert job.options["formats"] == ["jsonl", "csv"]
    event = AuditEvent.objects.get(event_type=AuditEventType.EXPORT_CREATED)
    assert (event.actor, event.details["query"], event.details["export_id"]) == (
        officer,
        "shares",
        str(job.pk),
    )


def test_progress_download_and_the_made_and_downloaded_audit(officer, world):
    response = api_as(officer).post(URL, {"query": "shares OR numbers"}, format="json")
    job = run_to_end(ExportJob.objects.get(pk=response.json()["id"]))

    detail = api_as(officer).get(f"{URL}{job.pk}/").json()
    download = api_as(officer).get(f"{URL}{job.pk}/download/")

    assert detail["state"] == "done"
    assert not ExportRecord.objects.filter(job_id=job.pk).exists()  # the run's working set went
    assert detail["downloadable"]
    assert detail["progress"]["done"] == detail["progress"]["total"] > 0
    assert download.status_code == 200
    assert download["Content-Type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content))).namelist()
    assert f"export-{job.pk}/manifest.dsse.json" in names
    made = AuditEvent.objects.get(event_type=AuditEventType.EXPORT_MADE)
    downloaded = AuditEvent.objects.get(event_type=AuditEventType.EXPORT_DOWNLOADED)
    assert made.details["manifest_sha256"] == job.manifest_sha256 == detail["manifest_sha256"]
    assert made.details["counts"]["records"] == detail["progress"]["total"]
    assert (downloaded.actor, downloaded.details["manifest_sha256"]) == (
        officer,
        job.manifest_sha256,
    )


def test_an_export_not_finished_cannot_be_downloaded(officer, world):
    job_id = api_as(officer).post(URL, {"query": "shares"}, format="json").json()["id"]
    before = _state()

    response = api_as(officer).get(f"{URL}{job_id}/download/")

    assert response.status_code == 409
    assert _state() == before


def test_another_officers_export_is_not_found_for_any_action(officer, world):
    job = run_to_end(
        ExportJob.objects.get(
            pk=api_as(officer).post(URL, {"query": "shares"}, format="json").json()["id"]
        )
    )
    other = UserFactory(roles=[Role.COMPLIANCE_OFFICER])
    before = _state()

    answers = [
        api_as(other).get(f"{URL}{job.pk}/").status_code,
        api_as(other).get(f"{URL}{job.pk}/download/").status_code,
        api_as(other).post(f"{URL}{job.pk}/cancel/").status_code,
        api_as(other).delete(f"{URL}{job.pk}/").status_code,
    ]

    assert answers == [404, 404, 404, 404]
    assert api_as(other).get(URL).json() == []
    assert _state() == before


def test_deleting_an_export_removes_its_files_and_is_audited(
    officer, world, django_capture_on_commit_callbacks
):
    job = run_to_end(
        ExportJob.objects.get(
            pk=api_as(officer).post(URL, {"query": "shares"}, format="json").json()["id"]
        )
    )
    assert list(walk(str(job.pk)))

    with django_capture_on_commit_callbacks(execute=True):
        response = api_as(officer).delete(f"{URL}{job.pk}/")

    assert response.status_code == 200
    assert response.json()["state"] == "deleted"
    assert not export_storage().exists(str(job.pk))
    event = AuditEvent.objects.get(event_type=AuditEventType.EXPORT_DELETED)
    assert (event.actor, event.details["manifest_sha256"]) == (officer, job.manifest_sha256)
    assert api_as(officer).get(f"{URL}{job.pk}/download/").status_code == 409


def test_cancelling_a_running_export_stops_it_and_is_audited(officer, world):
    job_id = api_as(officer).post(URL, {"query": "shares"}, format="json").json()["id"]

    response = api_as(officer).post(f"{URL}{job_id}/cancel/")
    again = api_as(officer).post(f"{URL}{job_id}/cancel/")

    assert response.status_code == 200
    assert response.json()["state"] == "cancelled"
    assert again.status_code == 409
    assert AuditEvent.objects.filter(event_type=AuditEventType.EXPORT_CANCELLED).count() == 1


def test_a_registered_download_grant_is_the_one_way_another_officer_downloads(officer, world):
    """What a case team will use: a grant widens downloads only, never cancel or delete, and
    an employee stays refused whatever the grant says."""
    job = run_to_end(
        ExportJob.objects.get(
            pk=api_as(officer).post(URL, {"query": "shares"}, format="json").json()["id"]
        )
    )
    teammate = UserFactory(roles=[Role.COMPLIANCE_OFFICER])
    employee = UserFactory(roles=[Role.EMPLOYEE])

    def case_team(user):  # type: ignore[no-untyped-def]
        return Q(pk=job.pk) if user in (teammate, employee) else Q(pk__in=[])

    selectors.export_download_grant_register(case_team)
    try:
        before = _state()
        refused = [
            api_as(teammate).delete(f"{URL}{job.pk}/").status_code,
            api_as(teammate).post(f"{URL}{job.pk}/cancel/").status_code,
            api_as(employee).get(f"{URL}{job.pk}/download/").status_code,
        ]
        assert refused == [404, 404, 403]
        assert _state() == before

        download = api_as(teammate).get(f"{URL}{job.pk}/download/")
    finally:
        selectors.export_download_grant_remove(case_team)

    assert download.status_code == 200
    event = AuditEvent.objects.get(event_type=AuditEventType.EXPORT_DOWNLOADED)
    assert (event.actor, event.details["export_id"]) == (teammate, str(job.pk))
    assert api_as(teammate).get(f"{URL}{job.pk}/download/").status_code == 404
