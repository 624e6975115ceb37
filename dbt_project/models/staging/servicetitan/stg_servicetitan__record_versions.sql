{#- Change capture for the incremental master models: one row per raw
    VERSION of the ServiceTitan records that feed them, with the parent ids
    that version pointed at. Only the typed key columns dlt writes are read
    (and, for payments, the appliedTo list), and every branch scans one raw
    table, so a filter on _dlt_load_id or on (tenant_id, record_id) reaches
    each raw table directly. Versions pointing at a parent matter even when
    they are not the latest: when an invoice moves from customer A to B,
    both customers' totals change. A payment version yields one row per
    invoice it is applied to. -#}

with

customers as (

    select * from {{ source('servicetitan', 'st_customers') }}

),

customer_contacts as (

    select * from {{ source('servicetitan', 'st_customer_contacts') }}

),

locations as (

    select * from {{ source('servicetitan', 'st_locations') }}

),

jobs as (

    select * from {{ source('servicetitan', 'st_jobs') }}

),

appointment_assignments as (

    select * from {{ source('servicetitan', 'st_appointment_assignments') }}

),

estimates as (

    select * from {{ source('servicetitan', 'st_estimates') }}

),

invoices as (

    select * from {{ source('servicetitan', 'st_invoices') }}

),

payments as (

    select * from {{ source('servicetitan', 'st_payments') }}

),

technicians as (

    select * from {{ source('servicetitan', 'st_technicians') }}

),

job_types as (

    select * from {{ source('servicetitan', 'st_job_types') }}

),

unioned as (

    select
        'customers' as entity,
        customers.tenant_id,
        customers.st_id as record_id,
        customers.st_id as customer_id,
        null::bigint as job_id,
        null::bigint as invoice_id,
        null::bigint as technician_id,
        null::bigint as job_type_id,
        customers._dlt_load_id
    from customers

    union all

    select
        'customer_contacts' as entity,
        customer_contacts.tenant_id,
        customer_contacts.st_id as record_id,
        customer_contacts.customer_id,
        null::bigint as job_id,
        null::bigint as invoice_id,
        null::bigint as technician_id,
        null::bigint as job_type_id,
        customer_contacts._dlt_load_id
    from customer_contacts

    union all

    select
        'locations' as entity,
        locations.tenant_id,
        locations.st_id as record_id,
        locations.customer_id,
        null::bigint as job_id,
        null::bigint as invoice_id,
        null::bigint as technician_id,
        null::bigint as job_type_id,
        locations._dlt_load_id
    from locations

    union all

    select
        'jobs' as entity,
        jobs.tenant_id,
        jobs.st_id as record_id,
        jobs.customer_id,
        jobs.st_id as job_id,
        null::bigint as invoice_id,
        null::bigint as technician_id,
        jobs.job_type_id,
        jobs._dlt_load_id
    from jobs

    union all

    select
        'appointment_assignments' as entity,
        appointment_assignments.tenant_id,
        appointment_assignments.st_id as record_id,
        null::bigint as customer_id,
        appointment_assignments.job_id,
        null::bigint as invoice_id,
        appointment_assignments.technician_id,
        null::bigint as job_type_id,
        appointment_assignments._dlt_load_id
    from appointment_assignments

    union all

    select
        'estimates' as entity,
        estimates.tenant_id,
        estimates.st_id as record_id,
        estimates.customer_id,
        estimates.job_id,
        null::bigint as invoice_id,
        null::bigint as technician_id,
        null::bigint as job_type_id,
        estimates._dlt_load_id
    from estimates

    union all

    select
        'invoices' as entity,
        invoices.tenant_id,
        invoices.st_id as record_id,
        invoices.customer_id,
        invoices.job_id,
        invoices.st_id as invoice_id,
        null::bigint as technician_id,
        null::bigint as job_type_id,
        invoices._dlt_load_id
    from invoices

    union all

    select
        'payments' as entity,
        payments.tenant_id,
        payments.st_id as record_id,
        payments.customer_id,
        null::bigint as job_id,
        {{ try_cast("application.value ->> 'appliedTo'", 'bigint') }}
            as invoice_id,
        null::bigint as technician_id,
        null::bigint as job_type_id,
        payments._dlt_load_id
    from payments
    left join lateral jsonb_array_elements(
        case
            when jsonb_typeof(payments.full_data -> 'appliedTo') = 'array'
                then payments.full_data -> 'appliedTo'
            else '[]'::jsonb
        end
    ) as application on true

    union all

    select
        'technicians' as entity,
        technicians.tenant_id,
        technicians.st_id as record_id,
        null::bigint as customer_id,
        null::bigint as job_id,
        null::bigint as invoice_id,
        null::bigint as technician_id,
        null::bigint as job_type_id,
        technicians._dlt_load_id
    from technicians

    union all

    select
        'job_types' as entity,
        job_types.tenant_id,
        job_types.st_id as record_id,
        null::bigint as customer_id,
        null::bigint as job_id,
        null::bigint as invoice_id,
        null::bigint as technician_id,
        null::bigint as job_type_id,
        job_types._dlt_load_id
    from job_types

)

select * from unioned
