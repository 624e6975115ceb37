"""GoHighLevel (LeadConnector) API v2 endpoints, limits and how each lands in raw.

Sources: the official v2 OpenAPI files (`apps/contacts.json`, `apps/opportunities.json`), GHL's
`docs/oauth/Authorization.md` (rate limits) and the contacts-search guide (page limits, filters,
`searchAfter`); see shared/reference/api-facts.md section 2.
"""

from __future__ import annotations

from dlt_pipelines.common.rows import Column, RawTable

DEFAULT_BASE_URL = "https://services.leadconnectorhq.com"
API_VERSION = "2021-07-28"  # the Version header contacts and opportunities require

# Per app and location: a burst of 100 requests in 10 seconds and 200,000 a day.
BURST_LIMIT = 100
BURST_WINDOW_S = 10.0
DAILY_LIMIT = 200_000
DAY_S = 86_400.0

CONTACTS_SEARCH_PATH = "contacts/search"
CONTACTS_PAGE_LIMIT = 500  # POST /contacts/search: pageLimit max 500
PAGE_NUMBER_MAX_RECORDS = 10_000  # page + pageLimit reach 10,000 records; beyond, searchAfter only
OPPORTUNITIES_PATH = "opportunities/search"
OPPORTUNITIES_PAGE_LIMIT = 100  # GET /opportunities/search: limit max 100
PIPELINES_PATH = "opportunities/pipelines"

# A complete contacts listing (which finds hard-deleted contacts) at least this often.
RECONCILE_HOURS = 24.0
# The search index trails writes by "a few seconds": re-read this much before the cursor.
OVERLAP_S = 300

C = Column
CONTACTS = RawTable(
    name="ghl_contacts",
    scope_column="location_id",
    scope_type="text",
    id_column="ghl_id",
    id_type="text",
    modified_path="dateUpdated",
    active_path=None,
    columns=(
        C("first_name", "firstName"),
        C("last_name", "lastName"),
        C("email", "email"),
        C("phone", "phone"),
        C("company_name", "companyName"),
        C("contact_type", "type"),
        C("source", "source"),
        C("assigned_to", "assignedTo"),
        C("tags", "tags", "json"),
        C("dnd", "dnd", "bool"),
        C("date_added", "dateAdded", "timestamp"),
    ),
)
OPPORTUNITIES = RawTable(
    name="ghl_opportunities",
    scope_column="location_id",
    scope_type="text",
    id_column="ghl_id",
    id_type="text",
    modified_path="updatedAt",
    active_path=None,
    columns=(
        C("name", "name"),
        C("pipeline_id", "pipelineId"),
        C("pipeline_stage_id", "pipelineStageId"),
        C("status", "status"),
        C("monetary_value", "monetaryValue", "decimal"),
        C("contact_id", "contactId"),
        C("assigned_to", "assignedTo"),
        C("source", "source"),
        C("created_at", "createdAt", "timestamp"),
        C("last_status_change_at", "lastStatusChangeAt", "timestamp"),
        C("last_stage_change_at", "lastStageChangeAt", "timestamp"),
    ),
)
PIPELINES = RawTable(
    name="ghl_pipelines",
    scope_column="location_id",
    scope_type="text",
    id_column="ghl_id",
    id_type="text",
    modified_path=None,  # pipelines carry no modification time
    active_path=None,
    columns=(
        C("name", "name"),
        C("stages", "stages", "json"),
    ),
)

# Contact notes are not listed: GET /contacts/{contactId}/notes is the only read (one request per
# contact, no location-wide listing, no paging or date filter) and a new note is not documented to
# change the contact's dateUpdated, so finding new notes would cost a request per contact per run.
# NoteCreate webhooks (raw.ghl_webhook_events) carry them instead.
