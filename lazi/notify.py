"""A failed or crashed scheduled run, told to a webhook (`LAZI_FAILURE_WEBHOOK_URL`): a JSON
POST with the deployment, the flow run and the cause. Slack's and Teams' incoming webhooks
take the `text` field; other receivers read the rest."""

from __future__ import annotations

import json
import os
import urllib.request
from typing import Any

from lazi.config import mask_secrets

WEBHOOK_ENV = "LAZI_FAILURE_WEBHOOK_URL"
TIMEOUT_S = 10


def failure_message(
    deployment: str, flow_run: str, run_id: str, state: str, cause: str
) -> dict[str, Any]:
    cause = mask_secrets(cause)[:2000]
    return {
        "text": f"LAZI: {deployment} run {flow_run} {state.lower()}: {cause}",
        "deployment": deployment,
        "flow_run": flow_run,
        "flow_run_id": run_id,
        "state": state,
        "cause": cause,
    }


def send(message: dict[str, Any]) -> bool:
    """POST `message` to the configured webhook; False when none is set. A receiver that
    fails raises: the caller logs it (the run's own failure stays what it was)."""
    url = os.environ.get(WEBHOOK_ENV, "").strip()
    if not url:
        return False
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"{WEBHOOK_ENV} must be an http:// or https:// URL")
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url,
        data=json.dumps(message).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310
        response.read()
    return True
