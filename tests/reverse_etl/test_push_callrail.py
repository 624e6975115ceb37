"""Push 3 (CallRail calls <- revenue) end to end: a warehouse built from the stand-ins, the
queue, the worker as lazi_reverse_etl, real HTTP to the CallRail stand-in, read back."""

from __future__ import annotations

from decimal import Decimal

from lazi.reverse_etl import callrail
from lazi.reverse_etl.push import push
from lazi.reverse_etl.worker import RetryPolicy, WorkerOptions
from tests.reverse_etl.conftest import desired, read_call, statuses, writes
from tests.transform._crm_fixtures import CrmWarehouse

FAST = WorkerOptions(retry=RetryPolicy(base_s=0.05, max_s=0.5), seed=16)


def assert_applied(wh: CrmWarehouse) -> None:
    """Every desired call reads back from CallRail with the desired fields."""
    for row in desired(wh):
        call = read_call(wh, row["account_id"], row["call_id"])
        payload = row["payload"]
        assert Decimal(call["value"]) == Decimal(str(payload["value"])), row["entity_id"]
        assert call["lead_status"] == payload["lead_status"]
        assert set(payload["tags"]) <= set(call["tags"])
        if "note" in payload:
            assert call["note"] == payload["note"]


def test_push_is_read_back_and_a_second_push_sends_nothing(fresh: CrmWarehouse) -> None:
    wanted = desired(fresh)
    assert len(wanted) >= 10, "the world attributes too few calls to test anything"
    assert all(row["payload"]["lead_status"] == "good_lead" for row in wanted)

    first = push(fresh.url, options=FAST)
    assert first["enqueued"] == {"callrail_calls": len(wanted)}
    assert first["delivery"]["succeeded"] == len(wanted)
    assert statuses(fresh) == {"succeeded": len(wanted)}
    assert_applied(fresh)
    logged = fresh.rows("select count(*) as n from sync.callrail_conversion_log")[0]["n"]
    assert logged == len(wanted)

    sent = len(writes(fresh))
    second = push(fresh.url, options=FAST)
    assert second["enqueued"] == {"callrail_calls": 0}
    assert second["delivery"]["succeeded"] == 0
    assert len(writes(fresh)) == sent
