{#- Completed work per technician per calendar month (in the business's time
    zone, var `marts_business_time_zone`, default America/Chicago). A completed
    job (active, status Completed) is credited in full to every distinct
    technician with an active appointment assignment on it — a two-technician
    job counts for both — and its revenue is the sum of its active invoices'
    totals, the same rule as master.technicians.total_revenue. -#}
{%- set time_zone = var('marts_business_time_zone', 'America/Chicago') -%}

with

job_revenue as (

    select * from {{ ref('int_job_revenue') }}

),

technicians as (

    select * from {{ ref('technicians') }}

),

completed_jobs as (

    select
        job_revenue.tenant_id,
        job_revenue.job_id,
        job_revenue.technician_ids,
        job_revenue.revenue,
        date_trunc(
            'month', job_revenue.completed_at at time zone '{{ time_zone }}'
        )::date as period_start
    from job_revenue
    where
        job_revenue.is_active
        and not job_revenue.is_deleted
        and job_revenue.job_status = 'Completed'
        and job_revenue.completed_at is not null

),

technician_jobs as (

    -- master.jobs.technician_ids: the distinct technicians with an active
    -- appointment assignment on the job
    select
        completed_jobs.tenant_id,
        credited.technician_id,
        completed_jobs.period_start,
        completed_jobs.job_id,
        completed_jobs.revenue
    from completed_jobs
    cross join
        lateral unnest(completed_jobs.technician_ids)
            as credited (technician_id)

),

aggregated as (

    select
        technician_jobs.tenant_id,
        technician_jobs.technician_id,
        technician_jobs.period_start,
        count(*) as completed_job_count,
        count(*) filter (where technician_jobs.revenue > 0)
            as invoiced_job_count,
        sum(technician_jobs.revenue) as revenue
    from technician_jobs
    group by 1, 2, 3

),

final as (

    select
        ---------- ids
        aggregated.tenant_id,
        aggregated.technician_id,

        ---------- strings
        technicians.technician_name,

        ---------- numerics
        aggregated.completed_job_count::integer as completed_job_count,
        aggregated.invoiced_job_count::integer as invoiced_job_count,
        aggregated.revenue::numeric(14, 2) as revenue,
        (
            aggregated.revenue / nullif(aggregated.invoiced_job_count, 0)
        )::numeric(14, 2) as average_ticket,

        ---------- booleans
        coalesce(technicians.is_active and not technicians.is_deleted, false)
            as is_technician_active,

        ---------- dates
        aggregated.period_start,
        (aggregated.period_start + interval '1 month' - interval '1 day')::date
            as period_end

    from aggregated
    left join technicians
        on
            aggregated.tenant_id = technicians.tenant_id
            and aggregated.technician_id = technicians.technician_id

)

select * from final
