{{
    config(
        materialized='incremental',
        unique_key='invoice_key',
        incremental_strategy='merge',
        on_schema_change='fail',
        pre_hook="{{ full_build_hints() }}",
        indexes=[
            {'columns': ['invoice_key'], 'unique': true},
            {'columns': ['tenant_id', 'invoice_id'], 'unique': true},
            {'columns': ['last_load_id']},
            {'columns': ['batch_at']},
            {'columns': ['tenant_id', 'customer_id']},
            {'columns': ['tenant_id', 'job_id']},
            {'columns': ['invoiced_at']},
        ],
    )
}}

-- change capture (used only by incremental runs):
-- depends_on: {{ ref('stg_servicetitan__record_versions') }}
-- depends_on: {{ ref('stg_servicetitan__loads') }}

with

{% if is_incremental() %}

    changed_records as (

        {{ changed_records(
            'servicetitan',
            ['invoices', 'payments', 'customers'],
        ) }}

    ),

    changed_versions as (

        {{ servicetitan_all_versions_of('changed_records') }}

    ),

    changed_customers as (

        select
            changed_records.tenant_id,
            changed_records.record_id as customer_id
        from changed_records
        where changed_records.entity = 'customers'

    ),

    renamed_customers as (

        {{ lookup(
            ref('stg_servicetitan__customers'),
            'changed_customers',
            ['tenant_id', 'customer_id'],
        ) }}

    ),

    candidate_invoices as (

        -- changed invoices, invoices a changed payment applies to now or did
        -- before, invoices showing the old name of a renamed customer
        select
            changed_versions.tenant_id,
            changed_versions.invoice_id
        from changed_versions
        where
            changed_versions.entity in ('invoices', 'payments')
            and changed_versions.invoice_id is not null
        union
        select
            previous_invoices.tenant_id,
            previous_invoices.invoice_id
        from renamed_customers
        inner join {{ this }} as previous_invoices
            on
                renamed_customers.tenant_id = previous_invoices.tenant_id
                and renamed_customers.customer_id
                = previous_invoices.customer_id
        where
            renamed_customers.customer_name
            is distinct from previous_invoices.customer_name

    ),

    candidate_payments as (

        select
            previous_invoices.tenant_id,
            unnest(previous_invoices.payment_ids) as payment_id
        from candidate_invoices
        inner join {{ this }} as previous_invoices
            on
                candidate_invoices.tenant_id = previous_invoices.tenant_id
                and candidate_invoices.invoice_id = previous_invoices.invoice_id
        union all
        select
            changed_records.tenant_id,
            changed_records.record_id as payment_id
        from changed_records
        where changed_records.entity = 'payments'

    ),

    invoices as (

        {{ lookup(
            ref('stg_servicetitan__invoices'),
            'candidate_invoices',
            ['tenant_id', 'invoice_id'],
        ) }}

    ),

    payments as (

        {{ lookup(
            ref('stg_servicetitan__payments'),
            'candidate_payments',
            ['tenant_id', 'payment_id'],
        ) }}

    ),

    customers as (

        {{ lookup(
            ref('stg_servicetitan__customers'),
            'invoices',
            ['tenant_id', 'customer_id'],
        ) }}

    ),

{% else %}

    invoices as (

        select * from {{ ref('stg_servicetitan__invoices') }}

    ),

    payments as (

        select * from {{ ref('stg_servicetitan__payments') }}

    ),

    customers as (

        select * from {{ ref('stg_servicetitan__customers') }}

    ),

{% endif %}

applications as (

    {{ servicetitan_payment_applications('payments') }}

),

payment_summary as (

    select
        applications.tenant_id,
        applications.invoice_id,
        array_agg(
            distinct applications.payment_id order by applications.payment_id
        ) as payment_ids,
        sum(applications.applied_amount) filter (
            where applications.is_payment_active
            and not applications.is_payment_deleted
        ) as paid_amount,
        count(distinct applications.payment_id) filter (
            where applications.is_payment_active
            and not applications.is_payment_deleted
        ) as payment_count,
        max(applications.dlt_load_id) as last_load_id
    from applications
    where applications.invoice_id is not null
    group by 1, 2

),

final as (

    select
        -- ids
        invoices.invoice_key,
        invoices.tenant_id,
        invoices.invoice_id,
        invoices.job_id,
        invoices.customer_id,
        invoices.location_id,
        invoices.business_unit_id,

        -- strings
        invoices.reference_number,
        invoices.job_number,
        customers.customer_name,
        invoices.business_unit_name,
        invoices.invoice_type,
        invoices.sync_status,
        invoices.review_status,
        invoices.sent_status,

        -- numerics
        invoices.sub_total,
        invoices.sales_tax,
        invoices.total,
        invoices.balance,
        coalesce(payment_summary.paid_amount, 0) as paid_amount,
        coalesce(payment_summary.payment_count, 0) as payment_count,

        -- booleans
        invoices.is_active,
        invoices.is_deleted,
        invoices.has_type_errors,

        -- lists
        coalesce(payment_summary.payment_ids, '{}') as payment_ids,

        -- timestamps
        invoices.invoiced_at,
        invoices.due_at,
        invoices.paid_at,
        invoices.created_at,
        invoices.modified_at,

        -- lineage
        {{ last_load_id(
            'servicetitan',
            [
            'invoices.dlt_load_id',
            'payment_summary.last_load_id',
        ],
        ) }} as last_load_id,
        {{ run_batch_at() }} as batch_at

    from invoices
    left join customers
        on
            invoices.tenant_id = customers.tenant_id
            and invoices.customer_id = customers.customer_id
    left join payment_summary
        on
            invoices.tenant_id = payment_summary.tenant_id
            and invoices.invoice_id = payment_summary.invoice_id

)

select * from final
