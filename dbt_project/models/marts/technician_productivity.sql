{#- Completed work per technician per calendar month (in the business's time
    zone, var `marts_business_time_zone`, default America/Chicago). A completed
    job (active, status Completed) is credited in full to every distinct
    technician with an active appointment assignment on it — a two-technician
    job counts for both — and its revenue is the sum of its active invoices'
    totals, the same rule as master.technicians.total_revenue: both read
    int_technician_job_totals. -#}

with

job_totals as (

    select * from {{ ref('int_technician_job_totals') }}

),

technicians as (

    select * from {{ ref('technicians') }}

),

aggregated as (

    select
        job_totals.tenant_id,
        job_totals.technician_id,
        job_totals.period_start,
        job_totals.job_count as completed_job_count,
        job_totals.invoiced_job_count,
        job_totals.revenue
    from job_totals
    where job_totals.is_completed and job_totals.period_start is not null

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
