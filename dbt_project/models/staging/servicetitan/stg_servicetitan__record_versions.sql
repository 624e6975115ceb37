{#- Change capture for the incremental models: one row per raw VERSION of the
    ServiceTitan records that feed them, with the parent ids that version
    pointed at. Versions pointing at a parent matter even when they are not
    the latest: when an invoice moves from customer A to B, both customers'
    totals change. A payment version yields one row per invoice it is applied
    to. -#}
{%- set applied_invoice = try_cast(
    "application.value ->> 'appliedTo'", 'bigint'
) -%}
{{ record_versions('servicetitan', {
    'customers': {'table': 'st_customers', 'columns': {
        'customer_id': 'customers.st_id'}},
    'customer_contacts': {'table': 'st_customer_contacts', 'columns': {
        'customer_id': 'customer_contacts.customer_id'}},
    'locations': {'table': 'st_locations', 'columns': {
        'customer_id': 'locations.customer_id'}},
    'location_contacts': {'table': 'st_location_contacts', 'columns': {
        'location_id': 'location_contacts.location_id'}},
    'jobs': {'table': 'st_jobs', 'columns': {
        'customer_id': 'jobs.customer_id',
        'job_id': 'jobs.st_id',
        'job_type_id': 'jobs.job_type_id'}},
    'appointments': {'table': 'st_appointments', 'columns': {
        'job_id': 'appointments.job_id'}},
    'appointment_assignments': {'table': 'st_appointment_assignments', 'columns': {
        'job_id': 'appointment_assignments.job_id',
        'technician_id': 'appointment_assignments.technician_id'}},
    'estimates': {'table': 'st_estimates', 'columns': {
        'customer_id': 'estimates.customer_id',
        'job_id': 'estimates.job_id'}},
    'invoices': {'table': 'st_invoices', 'columns': {
        'customer_id': 'invoices.customer_id',
        'job_id': 'invoices.job_id',
        'invoice_id': 'invoices.st_id'}},
    'payments': {'table': 'st_payments', 'columns': {
        'customer_id': 'payments.customer_id',
        'invoice_id': applied_invoice},
        'join': "left join lateral jsonb_array_elements(
        case
            when jsonb_typeof(payments.full_data -> 'appliedTo') = 'array'
                then payments.full_data -> 'appliedTo'
            else '[]'::jsonb
        end
    ) as application on true"},
    'technicians': {'table': 'st_technicians'},
    'job_types': {'table': 'st_job_types'},
}, column_types={
    'customer_id': 'bigint',
    'job_id': 'bigint',
    'invoice_id': 'bigint',
    'technician_id': 'bigint',
    'job_type_id': 'bigint',
    'location_id': 'bigint',
}) }}
