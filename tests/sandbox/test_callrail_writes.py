"""PUT /v3/a/{account}/calls/{id}.json: tags (replace or append), note, value, lead_status,
customer_name; visible in later reads and recorded in the write log."""

from __future__ import annotations

from tests.sandbox import _ghl_cr_fixtures as fx
from tests.sandbox._ghl_cr_fixtures import CrClient

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
