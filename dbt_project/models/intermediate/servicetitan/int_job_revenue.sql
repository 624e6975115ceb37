{#- Every ServiceTitan job with what the technician aggregates credit: its
    status, technicians and completion, and its revenue (the sum of its active,
    non-deleted invoices' totals). Kept as a narrow table so that the
    technician aggregates (int_technician_job_totals) read it instead of
    summing every invoice of every job on each build (14 s each at 1,000,000
    customers).

    Incremental (merge on job_key): a run redoes the jobs master.jobs rewrote
    since the newest load this table's rows carry, the jobs of the invoices
    master.invoices rewrote since then, and the job each of those invoices
    belonged to before (an invoice moved to another job: invoice_ids). -#}
{{
    config(
        materialized='incremental',
        unique_key='job_key',
        incremental_strategy='merge',
        on_schema_change='fail',
        pre_hook="{{ full_build_hints(incremental_too=true, full_build=false) }}",
        indexes=[
            {'columns': ['job_key'], 'unique': true},
            {'columns': ['tenant_id', 'job_id'], 'unique': true},
            {'columns': ['last_load_id']},
            {'columns': ['invoice_ids'], 'type': 'gin'},
        ],
    )
}}

with

jobs_all as (

    select * from {{ ref('jobs') }}

),

invoices_all as (

    select * from {{ ref('invoices') }}

),

{% if is_incremental() %}
    {#- one catalog query at compile time, for both filters -#}
    {%- set load_watermark = watermark() %}

    changed_invoices as (

        select
            invoices_all.tenant_id,
            invoices_all.invoice_id,
            invoices_all.job_id
        from invoices_all
        where invoices_all.last_load_id > {{ load_watermark }}

    ),

    job_keys as (

        select
            jobs_all.tenant_id,
            jobs_all.job_id
        from jobs_all
        where jobs_all.last_load_id > {{ load_watermark }}
        union
        select
            changed_invoices.tenant_id,
            changed_invoices.job_id
        from changed_invoices
        where changed_invoices.job_id is not null
        union
        -- the job a changed invoice was on when this table last saw it (one
        -- GIN lookup per invoice)
        select
            previous.tenant_id,
            previous.job_id
        from changed_invoices
        cross join lateral (
            select holders.tenant_id, holders.job_id
            from {{ this }} as holders
            where
                holders.invoice_ids @> array[changed_invoices.invoice_id]
                and holders.tenant_id = changed_invoices.tenant_id
            offset 0  -- noqa: AM09
        ) as previous

    ),

    -- key by key through the (tenant_id, job_id) indexes: the GIN lookups
    -- above make the planner expect millions of keys and hash both tables
    -- whole (select 6.5 s at 1,000,000 customers)
    jobs as (

        {{ lookup(ref('jobs'), 'job_keys', ['tenant_id', 'job_id']) }}

    ),

    invoices as (

        {{ lookup(ref('invoices'), 'job_keys', ['tenant_id', 'job_id']) }}

    ),

{% else %}

    jobs as (

        select * from jobs_all

    ),

    invoices as (

        select * from invoices_all

    ),

{% endif %}

invoice_summary as (

    select
        invoices.tenant_id,
        invoices.job_id,
        array_agg(invoices.invoice_id order by invoices.invoice_id)
            as invoice_ids,
        sum(invoices.total) filter (
            where invoices.is_active and not invoices.is_deleted
        ) as revenue,
        max(invoices.last_load_id) as last_load_id
    from invoices
    where invoices.job_id is not null
    group by 1, 2

),

final as (

    select
        jobs.job_key,
        jobs.tenant_id,
        jobs.job_id,
        jobs.job_status,
        jobs.technician_ids,
        coalesce(invoice_summary.invoice_ids, '{}') as invoice_ids,
        coalesce(invoice_summary.revenue, 0) as revenue,
        jobs.is_active,
        jobs.is_deleted,
        jobs.completed_at,
        greatest(jobs.last_load_id, invoice_summary.last_load_id)
            as last_load_id
    from jobs
    left join invoice_summary
        on
            jobs.tenant_id = invoice_summary.tenant_id
            and jobs.job_id = invoice_summary.job_id

)

select * from final
