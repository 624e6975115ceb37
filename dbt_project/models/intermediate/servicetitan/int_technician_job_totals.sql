{#- Jobs and revenue per technician and month of completion: the one pass over
    int_job_revenue (2.2 M jobs at 1,000,000 customers) that master.technicians
    (totals over every month) and marts.technician_productivity (completed jobs
    per month) both add up, instead of each reading every job on every build.

    A live job (active, not deleted, not canceled) is credited in full to every
    technician in its technician_ids (distinct: a two-technician job counts for
    both). Its month is the month of completion in the business's time zone
    (var `marts_business_time_zone`, default America/Chicago); jobs that are
    not Completed, or have no completion time, have none. -#}
{{ config(materialized='table') }}
{%- set time_zone = var('marts_business_time_zone', 'America/Chicago') -%}

with

job_revenue as (

    select * from {{ ref('int_job_revenue') }}

),

credited as (

    select
        job_revenue.tenant_id,
        credited_technician.technician_id,
        job_revenue.job_status = 'Completed' as is_completed,
        case
            when job_revenue.job_status = 'Completed'
                then
                    date_trunc(
                        'month',
                        job_revenue.completed_at at time zone '{{ time_zone }}'
                    )::date
        end as period_start,
        job_revenue.revenue
    from job_revenue
    cross join
        lateral unnest(job_revenue.technician_ids)
            as credited_technician (technician_id)
    where
        job_revenue.is_active
        and not job_revenue.is_deleted
        and job_revenue.job_status is distinct from 'Canceled'

),

final as (

    select
        tenant_id,
        technician_id,
        is_completed,
        period_start,
        count(*) as job_count,
        count(*) filter (where revenue > 0) as invoiced_job_count,
        sum(revenue) as revenue
    from credited
    group by 1, 2, 3, 4

)

select * from final
