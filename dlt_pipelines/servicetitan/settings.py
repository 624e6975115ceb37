"""ServiceTitan endpoints and how each lands in raw (paths from the v2 OpenAPI files).

`export` endpoints are read with their continuation token (they return inactive and deleted rows
too); the others are polled with modifiedOnOrAfter and reconciled in full on demand.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dlt_pipelines.common.rows import Column, RawTable

DEFAULT_BASE_URL = "https://api.servicetitan.io"
DEFAULT_AUTH_URL = "https://auth.servicetitan.io/connect/token"
RATE_LIMIT_PER_SECOND = 60  # per application and tenant
MAX_PAGE_SIZE = 5000
TOKEN_REFRESH_MARGIN_S = 60


@dataclass(frozen=True)
class Endpoint:
    table: RawTable
    module: str
    path: str  # after /{module}/v2/tenant/{tenant}/
    export_path: str | None = None
    inactive_param: dict[str, str] = field(default_factory=lambda: {"active": "Any"})
    version: str = "v2"

    @property
    def name(self) -> str:
        return self.table.name


def _t(name: str, *columns: Column, modified: str | None = "modifiedOn") -> RawTable:
    return RawTable(
        name=name,
        scope_column="tenant_id",
        scope_type="bigint",
        id_column="st_id",
        modified_path=modified,
        columns=columns,
    )


C = Column
ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        _t(
            "st_customers",
            C("name", "name"),
            C("type", "type"),
            C("balance", "balance", "decimal"),
            C("address", "address", "json"),
            C("custom_fields", "customFields", "json"),
            C("created_on", "createdOn", "timestamp"),
        ),
        "crm",
        "customers",
        "export/customers",
    ),
    Endpoint(
        _t(
            "st_customer_contacts",
            C("customer_id", "customerId", "bigint"),
            C("type", "type"),
            C("value", "value"),
            C("phone_settings", "phoneSettings", "json"),
        ),
        "crm",
        "customers/contacts",
        "export/customers/contacts",
    ),
    Endpoint(
        _t(
            "st_locations",
            C("customer_id", "customerId", "bigint"),
            C("name", "name"),
            C("address", "address", "json"),
            C("zone_id", "zoneId", "bigint"),
            C("tax_zone_id", "taxZoneId", "bigint"),
        ),
        "crm",
        "locations",
        "export/locations",
    ),
    Endpoint(
        _t(
            "st_location_contacts",
            C("location_id", "locationId", "bigint"),
            C("type", "type"),
            C("value", "value"),
        ),
        "crm",
        "locations/contacts",
        "export/locations/contacts",
    ),
    Endpoint(
        _t(
            "st_jobs",
            C("job_number", "jobNumber"),
            C("customer_id", "customerId", "bigint"),
            C("location_id", "locationId", "bigint"),
            C("job_status", "jobStatus"),
            C("total", "total", "decimal"),
            C("campaign_id", "campaignId", "bigint"),
            C("job_type_id", "jobTypeId", "bigint"),
            C("business_unit_id", "businessUnitId", "bigint"),
            C("completed_on", "completedOn", "timestamp"),
            C("created_on", "createdOn", "timestamp"),
        ),
        "jpm",
        "jobs",
        "export/jobs",
    ),
    Endpoint(
        _t(
            "st_appointments",
            C("job_id", "jobId", "bigint"),
            C("start_time", "start", "timestamp"),
            C("end_time", "end", "timestamp"),
            C("status", "status"),
        ),
        "jpm",
        "appointments",
        "export/appointments",
    ),
    Endpoint(
        _t(
            "st_appointment_assignments",
            C("appointment_id", "appointmentId", "bigint"),
            C("technician_id", "technicianId", "bigint"),
            C("job_id", "jobId", "bigint"),
            C("assigned_on", "assignedOn", "timestamp"),
        ),
        "dispatch",
        "appointment-assignments",
        "export/appointment-assignments",
    ),
    Endpoint(
        _t(
            "st_estimates",
            C("job_id", "jobId", "bigint"),
            C("customer_id", "customerId", "bigint"),
            C("status", "status.name"),
            C("subtotal", "subtotal", "decimal"),
            C("tax", "tax", "decimal"),
            C("items", "items", "json"),
        ),
        "sales",
        "estimates",
        "export/estimates",
    ),
    Endpoint(
        _t(
            "st_invoices",
            C("job_id", "job.id", "bigint"),
            C("customer_id", "customer.id", "bigint"),
            C("total", "total", "decimal"),
            C("balance", "balance", "decimal"),
            C("items", "items", "json"),
        ),
        "accounting",
        "invoices",
        "export/invoices",
        inactive_param={"activeState": "All"},
    ),
    Endpoint(
        _t(
            "st_payments",
            C("customer_id", "customer.id", "bigint"),
            C("invoice_id", "appliedTo.0.appliedTo", "bigint"),
            C("payment_type", "type"),
            C("total", "total", "decimal"),
        ),
        "accounting",
        "payments",
        "export/payments",
        inactive_param={"activeState": "All"},
    ),
    Endpoint(
        _t(
            "st_technicians",
            C("name", "name"),
            C("email", "email"),
            C("phone", "phoneNumber"),
            C("business_unit_id", "businessUnitId", "bigint"),
            C("zone_ids", "zoneIds", "json"),
        ),
        "settings",
        "technicians",
        "export/technicians",
    ),
    Endpoint(
        _t(
            "st_employees",
            C("name", "name"),
            C("email", "email"),
            C("role", "role"),
            C("business_unit_id", "businessUnitId", "bigint"),
        ),
        "settings",
        "employees",
        "export/employees",
    ),
    Endpoint(
        _t(
            "st_business_units",
            C("name", "name"),
            C("official_name", "officialName"),
            C("email", "email"),
            C("phone", "phoneNumber"),
            C("address", "address", "json"),
        ),
        "settings",
        "business-units",
        "export/business-units",
    ),
    Endpoint(
        _t(
            "st_campaigns",
            C("name", "name"),
            C("code", "code"),
            C("category_id", "category.id", "bigint"),
        ),
        "marketing",
        "campaigns",
    ),
    Endpoint(
        _t(
            "st_job_types",
            C("name", "name"),
            C("duration", "duration", "bigint"),
            C("priority", "priority"),
            C("business_unit_ids", "businessUnitIds", "json"),
        ),
        "jpm",
        "job-types",
    ),
    Endpoint(
        _t(
            "st_tag_types",
            C("name", "name"),
            C("code", "code"),
            C("color", "color"),
            C("entity_type", "entityType"),
        ),
        "settings",
        "tag-types",
        "export/tag-types",
    ),
    Endpoint(_t("st_zones", C("name", "name")), "dispatch", "zones"),
    Endpoint(
        _t("st_teams", C("name", "name")),
        "dispatch",
        "teams",
        inactive_param={"includeInactive": "true"},
    ),
    Endpoint(
        _t(
            "st_pricebook_categories",
            C("name", "name"),
            C("parent_id", "parentId", "bigint"),
            C("category_type", "categoryType"),
            C("subcategories", "subcategories", "json"),
        ),
        "pricebook",
        "categories",
        "export/categories",
    ),
    Endpoint(
        _t(
            "st_pricebook_materials",
            C("code", "code"),
            C("display_name", "displayName"),
            C("cost", "cost", "decimal"),
            C("price", "price", "decimal"),
            C("categories", "categories", "json"),
        ),
        "pricebook",
        "materials",
        "export/materials",
    ),
    Endpoint(
        _t(
            "st_pricebook_services",
            C("code", "code"),
            C("display_name", "displayName"),
            C("price", "price", "decimal"),
            C("hours", "hours", "decimal"),
            C("service_materials", "serviceMaterials", "json"),
        ),
        "pricebook",
        "services",
        "export/services",
    ),
    Endpoint(
        _t(
            "st_pricebook_equipment",
            C("code", "code"),
            C("display_name", "displayName"),
            C("manufacturer", "manufacturer"),
            C("model", "model"),
            C("price", "price", "decimal"),
        ),
        "pricebook",
        "equipment",
        "export/equipment",
    ),
    Endpoint(
        _t(
            "st_installed_equipment",
            C("location_id", "locationId", "bigint"),
            C("customer_id", "customerId", "bigint"),
            C("serial_number", "serialNumber"),
        ),
        "equipmentsystems",
        "installed-equipment",
        "export/installed-equipment",
    ),
    Endpoint(
        _t("st_customer_custom_field_types", C("name", "name"), C("data_type", "dataType")),
        "crm",
        "customers/custom-fields",
    ),
    Endpoint(
        _t("st_location_custom_field_types", C("name", "name"), C("data_type", "dataType")),
        "crm",
        "locations/custom-fields",
    ),
    Endpoint(
        _t("st_job_custom_field_types", C("name", "name"), C("data_type", "dataType")),
        "jpm",
        "jobs/custom-fields",
    ),
    Endpoint(
        _t("st_call_reasons", C("name", "name"), C("is_lead", "isLead", "bool")),
        "jbce",
        "call-reasons",
    ),
    Endpoint(
        _t(
            "st_calls",
            C("direction", "direction"),
            C("from_number", "from"),
            C("to_number", "to"),
            C("call_type", "type"),
            C("duration", "duration"),
            C("customer_id", "customer.id", "bigint"),
            C("job_id", "job.id", "bigint"),
            C("campaign_id", "campaign.id", "bigint"),
            C("created_on", "createdOn", "timestamp"),
        ),
        "telecom",
        "calls",
        "export/calls",
        inactive_param={},
    ),
)

ENDPOINTS_BY_NAME = {endpoint.name: endpoint for endpoint in ENDPOINTS}
