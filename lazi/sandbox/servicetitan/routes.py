"""Which ServiceTitan paths the stand-in serves, and which World collection backs each one.

Paths are exactly the official ones (module prefix from each spec's server URL + spec path).
Only endpoints that exist in the spec are served: e.g. invoices, payments, tag types and
appointment assignments have no GET-by-id in ServiceTitan, so there is none here either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ReadKind = Literal["list", "get", "export", "children", "notes"]


@dataclass(frozen=True)
class ReadRoute:
    kind: ReadKind
    path: str
    collection: str
    # How a World record (export-shaped) becomes this endpoint's record shape.
    shape: str = "plain"
    # For `children`/`notes`: the record field that must equal the {id} in the path.
    parent_field: str | None = None
    # For `children`/`notes`: the collection the {id} must exist in (404 otherwise).
    parent_collection: str | None = None


def _std(
    collection: str, module: str, resource: str, *, by_id: bool = True, export: bool = True
) -> list[ReadRoute]:
    base = f"/{module}/v2/tenant/{{tenant}}"
    routes = [ReadRoute("list", f"{base}/{resource}", collection)]
    if by_id:
        routes.append(ReadRoute("get", f"{base}/{resource}/{{id}}", collection))
    if export:
        routes.append(ReadRoute("export", f"{base}/export/{resource}", collection))
    return routes


READ_ROUTES: list[ReadRoute] = [
    *_std("customers", "crm", "customers"),
    *_std("customer_contacts", "crm", "customers/contacts", by_id=False),
    ReadRoute(
        "children",
        "/crm/v2/tenant/{tenant}/customers/{id}/contacts",
        "customer_contacts",
        parent_field="customerId",
        parent_collection="customers",
    ),
    *_std("locations", "crm", "locations"),
    *_std("location_contacts", "crm", "locations/contacts", by_id=False),
    ReadRoute(
        "children",
        "/crm/v2/tenant/{tenant}/locations/{id}/contacts",
        "location_contacts",
        parent_field="locationId",
        parent_collection="locations",
    ),
    *_std("jobs", "jpm", "jobs"),
    *_std("appointments", "jpm", "appointments"),
    *_std("appointment_assignments", "dispatch", "appointment-assignments", by_id=False),
    *_std("estimates", "sales", "estimates"),
    *_std("invoices", "accounting", "invoices", by_id=False),
    *_std("payments", "accounting", "payments", by_id=False),
    *_std("technicians", "settings", "technicians"),
    *_std("employees", "settings", "employees"),
    *_std("business_units", "settings", "business-units"),
    *_std("tag_types", "settings", "tag-types", by_id=False),
    *_std("campaigns", "marketing", "campaigns", export=False),
    *_std("job_types", "jpm", "job-types", export=False),
    *_std("zones", "dispatch", "zones", export=False),
    *_std("teams", "dispatch", "teams", export=False),
    *_std("pricebook_categories", "pricebook", "categories"),
    *_std("pricebook_materials", "pricebook", "materials"),
    *_std("pricebook_services", "pricebook", "services"),
    *_std("pricebook_equipment", "pricebook", "equipment"),
    *_std("installed_equipment", "equipmentsystems", "installed-equipment"),
    *_std(
        "customer_custom_field_types", "crm", "customers/custom-fields", by_id=False, export=False
    ),
    *_std(
        "location_custom_field_types", "crm", "locations/custom-fields", by_id=False, export=False
    ),
    *_std("job_custom_field_types", "jpm", "jobs/custom-fields", by_id=False, export=False),
    *_std("call_reasons", "jbce", "call-reasons", by_id=False, export=False),
    ReadRoute("list", "/telecom/v3/tenant/{tenant}/calls", "calls", shape="call_v3"),
    ReadRoute("list", "/telecom/v2/tenant/{tenant}/calls", "calls", shape="call_v2"),
    ReadRoute("get", "/telecom/v2/tenant/{tenant}/calls/{id}", "calls", shape="call_v2_detail"),
    ReadRoute("export", "/telecom/v2/tenant/{tenant}/export/calls", "calls"),
    ReadRoute(
        "notes",
        "/crm/v2/tenant/{tenant}/customers/{id}/notes",
        "customer_notes",
        parent_field="customerId",
        parent_collection="customers",
    ),
    ReadRoute(
        "notes",
        "/jpm/v2/tenant/{tenant}/jobs/{id}/notes",
        "job_notes",
        parent_field="jobId",
        parent_collection="jobs",
    ),
]

WRITE_PATHS: list[tuple[str, str]] = [
    ("PATCH", "/crm/v2/tenant/{tenant}/customers/{id}"),
    ("PATCH", "/crm/v2/tenant/{tenant}/locations/{id}"),
    ("PATCH", "/jpm/v2/tenant/{tenant}/jobs/{id}"),
    ("POST", "/crm/v2/tenant/{tenant}/customers/{id}/notes"),
    ("POST", "/jpm/v2/tenant/{tenant}/jobs/{id}/notes"),
    ("PATCH", "/pricebook/v2/tenant/{tenant}/materials/{id}"),
    ("PATCH", "/pricebook/v2/tenant/{tenant}/services/{id}"),
    ("PATCH", "/pricebook/v2/tenant/{tenant}/equipment/{id}"),
    ("PATCH", "/pricebook/v2/tenant/{tenant}/pricebook"),
    ("PUT", "/crm/v2/tenant/{tenant}/tags"),
    ("DELETE", "/crm/v2/tenant/{tenant}/tags"),
    ("POST", "/crm/v2/tenant/{tenant}/customers/{id}/tags/{tagTypeId}"),
    ("DELETE", "/crm/v2/tenant/{tenant}/customers/{id}/tags/{tagTypeId}"),
]

# Spec file that defines each module prefix (used by the generator and the contract tests).
SPEC_FILES: dict[str, str] = {
    "/accounting/v2": "accounting-v2.json",
    "/crm/v2": "crm-v2.json",
    "/dispatch/v2": "dispatch-v2.json",
    "/equipmentsystems/v2": "equipment-systems-v2.json",
    "/jbce/v2": "jbce-v2.json",
    "/jpm/v2": "jpm-v2.json",
    "/marketing/v2": "marketing-v2.json",
    "/pricebook/v2": "pricebook-v2.json",
    "/sales/v2": "salestech-v2.json",
    "/settings/v2": "settings-v2.json",
    "/telecom": "telecom.json",
}


def spec_location(path: str) -> tuple[str, str]:
    """(spec file, path inside that spec) for a served path template."""
    for prefix, file in SPEC_FILES.items():
        if path.startswith(prefix + "/"):
            return file, path[len(prefix) :]
    raise KeyError(path)
