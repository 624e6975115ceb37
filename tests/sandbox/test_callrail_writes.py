"""PUT /v3/a/{account}/calls/{id}.json: tags (replace or append), note, value, lead_status,
customer_name; null leaves a field unchanged; visible in later reads and recorded in the
write log."""

from __future__ import annotations

from typing import Any

import pytest

from lazi.sandbox.callrail.calls import CALL_FIELDS
from tests.sandbox import _ghl_cr_fixtures as fx
from tests.sandbox._ghl_cr_fixtures import CrClient, check_cr

# Fixtures live in the shared module; binding them here lets pytest find them.
cr = fx.cr


def _put(cr: CrClient, call_id: str, body: dict) -> dict:
    response = cr.http.put(cr.path(f"calls/{call_id}.json"), json=body)
    assert response.status_code == 200, response.text
    return response.json()


def _get(cr: CrClient, call_id: str, fields: str) -> dict:
    return cr.http.get(cr.path(f"calls/{call_id}.json"), params={"fields": fields}).json()


def test_tags_replace_then_append(cr: CrClient) -> None:
    call = cr.live("calls")[0]["id"]
    assert _put(cr, call, {"tags": ["st-job-booked", "hvac"]})["tags"] == ["st-job-booked", "hvac"]
    appended = _put(cr, call, {"tags": ["hvac", "repeat"], "append_tags": True})
    assert appended["tags"] == ["st-job-booked", "hvac", "repeat"]
    assert _put(cr, call, {"tags": ["only"]})["tags"] == ["only"]
    assert _get(cr, call, "tags")["tags"] == ["only"]
    writes = cr.http.get("/_sandbox/writes").json()
    assert [w["method"] for w in writes] == ["PUT"] * 3
    assert writes[1]["body"] == {"tags": ["hvac", "repeat"], "append_tags": True}
    assert writes[0]["path"] == cr.path(f"calls/{call}.json")


def test_note_value_lead_status_customer_name(cr: CrClient) -> None:
    call = cr.live("calls")[1]["id"]
    body = {
        "note": "Booked job 4411",
        "value": "350",
        "lead_status": "good_lead",
        "customer_name": "Pat Smith",
    }
    updated = _put(cr, call, body)
    assert updated["note"] == "Booked job 4411" and updated["value"] == "350.00"
    assert updated["lead_status"] == "good_lead" and updated["customer_name"] == "Pat Smith"
    again = _get(cr, call, "note,value,lead_status,formatted_value")
    assert again["formatted_value"] == "$350.00" and again["customer_name"] == "Pat Smith"
    listed = cr.http.get(
        cr.path("calls.json"),
        params={"lead_status": "good_lead", "per_page": 250, "fields": "note"},
    ).json()
    assert any(c["id"] == call and c["note"] == "Booked job 4411" for c in listed["calls"])


def test_invalid_updates_change_nothing(cr: CrClient) -> None:
    call = cr.live("calls")[2]
    bad = cr.http.put(cr.path(f"calls/{call['id']}.json"), json={"lead_status": "hot"})
    assert bad.status_code == 422 and "lead_status" in bad.json()["error"]
    form = cr.http.put(cr.path(f"calls/{call['id']}.json"), data={"note": "x"})
    assert form.status_code == 406
    assert cr.coll("calls").get(call["id"]) == call
    assert cr.http.get("/_sandbox/writes").json() == []


def test_unknown_keys_are_ignored_like_rails_strong_params(cr: CrClient) -> None:
    call = cr.live("calls")[3]["id"]
    updated = _put(cr, call, {"note": "ok", "duration": 1, "spam": False})
    assert updated["note"] == "ok" and updated["duration"] != 1


# Every updatable field as a client that always sends all of them does (issue 15, item 4):
# the unset ones are null. Each case sets one field; (sent value, what reads show).
ALL_NULL: dict[str, Any] = dict.fromkeys(
    ("tags", "value", "lead_status", "append_tags", "customer_name", "spam", "note")
)
READ_BACK = "tags,note,value,formatted_value,lead_status,customer_name"
ONE_FIELD = {
    "tags": (["st-job-booked"], {"tags": ["st-job-booked"]}),
    "note": ("Booked job 77", {"note": "Booked job 77"}),
    "value": ("125.5", {"value": "125.50", "formatted_value": "$125.50"}),
    "lead_status": ("not_a_lead", {"lead_status": "not_a_lead"}),
    "customer_name": ("Lee Park", {"customer_name": "Lee Park"}),
}


@pytest.mark.parametrize("field", sorted(ONE_FIELD))
def test_nulls_leave_fields_unchanged_and_the_set_one_changes(cr: CrClient, field: str) -> None:
    call = cr.live("calls")[4]["id"]
    # Give every field a value first, so that a null that cleared it would show.
    _put(cr, call, {"tags": ["a", "b"], "note": "n", "value": "10", "lead_status": "good_lead"})
    before = _get(cr, call, READ_BACK)
    sent, shown = ONE_FIELD[field]
    response = cr.http.put(cr.path(f"calls/{call}.json"), json={**ALL_NULL, field: sent})
    assert response.status_code == 200, response.text  # was 422 "tags must be an array"
    check_cr(response)
    answer = response.json()
    # The call's documented keys: the default fields and the updatable ones, nothing echoed
    # from the request (append_tags, spam).
    assert set(answer) == {*CALL_FIELDS, "tags", "note", "value", "lead_status", "customer_name"}
    after = _get(cr, call, READ_BACK)
    assert after == {**before, **shown}
    assert answer[field] == shown[field]


def test_all_null_changes_nothing_but_is_logged(cr: CrClient) -> None:
    call = cr.live("calls")[5]["id"]
    before = _get(cr, call, READ_BACK)
    response = cr.http.put(cr.path(f"calls/{call}.json"), json=ALL_NULL)
    assert response.status_code == 200, response.text
    assert _get(cr, call, READ_BACK) == before
    assert [w["body"] for w in cr.http.get("/_sandbox/writes").json()] == [ALL_NULL]


def test_append_tags_with_null_other_fields(cr: CrClient) -> None:
    call = cr.live("calls")[6]["id"]
    _put(cr, call, {"tags": ["first"]})
    appended = _put(cr, call, {**ALL_NULL, "tags": ["second"], "append_tags": True})
    assert appended["tags"] == ["first", "second"]
    assert _get(cr, call, "tags")["tags"] == ["first", "second"]


def test_empty_string_still_clears_note_and_value(cr: CrClient) -> None:
    call = cr.live("calls")[7]["id"]
    _put(cr, call, {"note": "n", "value": "10"})
    _put(cr, call, {**ALL_NULL, "note": "", "value": ""})
    cleared = _get(cr, call, "note,value,formatted_value")
    assert cleared["note"] == "" and cleared["value"] is None
    assert cleared["formatted_value"] == "--"
