"""CallRail API v3 endpoints, limits and how each lands in raw.

Sources: apidocs.callrail.com as summarised in shared/reference/api-facts.md section 3 and the
unofficial OpenAPI file in shared/api-specs/callrail (treated as unverified where they differ).
"""

from __future__ import annotations

from dlt_pipelines.common.rows import Column, RawTable

DEFAULT_BASE_URL = "https://api.callrail.com"
API_PREFIX = "v3"
PER_PAGE = 250  # the documented maximum

# General requests: 1,000 an hour and 10,000 a day per account.
HOURLY_LIMIT = 1_000
DAILY_LIMIT = 10_000
HOUR_S = 3_600.0
DAY_S = 86_400.0

# Calls change after they end (tags, value, lead status, notes, spam): re-read this many days
# before the newest start_time seen.
LOOKBACK_DAYS = 7
# Staff set lead status, value and tags days or weeks later: a wider re-read at least daily.
DEEP_LOOKBACK_DAYS = 30
DEEP_EVERY_HOURS = 24.0

# Extra call fields (the list call returns only the basic ones): what attribution needs.
CALL_FIELDS = (
    "call_type",
    "company_id",
    "company_name",
    "company_time_zone",
    "created_at",
    "device_type",
    "first_call",
    "lead_status",
    "note",
    "value",
    "tags",
    "source",
    "source_name",
    "tracker_id",
    "medium",
    "campaign",
    "keywords",
    "landing_page_url",
    "referring_url",
    "referrer_domain",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "gclid",
    "fbclid",
    "msclkid",
    "formatted_customer_phone_number",
    "formatted_tracking_phone_number",
    "formatted_duration",
    "formatted_value",
)

# Conversation extras (the list returns the ids, numbers, state, last_message_at and
# recent_messages): the names as CallRail shows them, for the CRM timeline.
TEXT_FIELDS = (
    "company_name",
    "company_time_zone",
    "tracker_name",
    "formatted_customer_name",
    "formatted_customer_phone_number",
    "formatted_initial_tracking_number",
    "formatted_current_tracking_number",
)
# Conversations change when a message arrives (last_message_at moves forward): re-read this
# many days before the newest last_message_at seen, for messages CallRail delivered late.
TEXT_LOOKBACK_DAYS = 3

C = Column


def _t(name: str, *columns: Column) -> RawTable:
    return RawTable(
        name=name,
        scope_column="account_id",
        scope_type="text",
        id_column="callrail_id",
        id_type="text",
        modified_path=None,  # CallRail records carry no modification time
        active_path=None,
        columns=columns,
    )


CALLS = _t(
    "callrail_calls",
    C("start_time", "start_time", "timestamp"),
    C("direction", "direction"),
    C("customer_phone_number", "customer_phone_number"),
    C("customer_name", "customer_name"),
    C("tracking_phone_number", "tracking_phone_number"),
    C("business_phone_number", "business_phone_number"),
    C("duration", "duration", "bigint"),
    C("answered", "answered", "bool"),
    C("voicemail", "voicemail", "bool"),
    C("first_call", "first_call", "bool"),
    C("source", "source"),
    C("medium", "medium"),
    C("campaign", "campaign"),
    C("value", "value", "decimal"),
    C("lead_status", "lead_status"),
    C("tags", "tags", "json"),
    C("company_id", "company_id"),
    C("tracker_id", "tracker_id"),
)
COMPANIES = _t(
    "callrail_companies",
    C("name", "name"),
    C("status", "status"),
    C("time_zone", "time_zone"),
    C("created_at", "created_at", "timestamp"),
    C("disabled_at", "disabled_at", "timestamp"),
)
TRACKERS = _t(
    "callrail_trackers",
    C("name", "name"),
    C("tracker_type", "type"),
    C("status", "status"),
    C("company_id", "company.id"),
    C("destination_number", "destination_number"),
    C("tracking_numbers", "tracking_numbers", "json"),
    C("campaign_name", "campaign_name"),
    C("created_at", "created_at", "timestamp"),
    C("disabled_at", "disabled_at", "timestamp"),
)
USERS = _t(
    "callrail_users",
    C("name", "name"),
    C("first_name", "first_name"),
    C("last_name", "last_name"),
    C("email", "email"),
    C("role", "role"),
    C("accepted", "accepted", "bool"),
    C("created_at", "created_at", "timestamp"),
)
TEXT_MESSAGES = _t(
    "callrail_text_messages",
    C("last_message_at", "last_message_at", "timestamp"),
    C("customer_phone_number", "customer_phone_number"),
    C("customer_name", "customer_name"),
    C("company_id", "company_id"),
    C("initial_tracker_id", "initial_tracker_id"),
    C("current_tracker_id", "current_tracker_id"),
    C("current_tracking_number", "current_tracking_number"),
    C("state", "state"),
)
