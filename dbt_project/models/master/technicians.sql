{{ config(pre_hook="{{ full_build_hints() }}") }}

with

technicians as (

    select * from {{ ref('stg_servicetitan__technicians') }}

),

business_units as (

    select * from {{ ref('stg_servicetitan__business_units') }}

),

job_revenue as (

    select * from {{ ref('int_job_revenue') }}

),

technician_jobs as (

    -- one row per live job and technician holding an active assignment on it
    select
        job_revenue.tenant_id,
        job_revenue.job_id,
        job_revenue.job_status,
        job_revenue.revenue,
        unnest(job_revenue.technician_ids) as technician_id
    from job_revenue
    where job_revenue.is_active and not job_revenue.is_deleted

),

technician_summary as (

    select
        technician_jobs.tenant_id,
        technician_jobs.technician_id,
        count(distinct technician_jobs.job_id) filter (
            where technician_jobs.job_status is distinct from 'Canceled'
        ) as total_jobs,
        sum(technician_jobs.revenue) filter (
            where technician_jobs.job_status = 'Completed'
        ) as total_revenue
    from technician_jobs
    group by 1, 2

),

final as (

    select
        -- ids
        technicians.technician_key,
        technicians.tenant_id,
        technicians.technician_id,
        technicians.business_unit_id,
        technicians.main_zone_id,
        technicians.user_id,

        -- strings
        technicians.technician_name,
        technicians.first_name,
        technicians.last_name,
        technicians.email,
        technicians.phone,
        technicians.phone_normalized,
        business_units.business_unit_name,
        technicians.team_name,

        -- numerics
        technicians.hourly_rate,
        technicians.daily_goal,
        coalesce(technician_summary.total_jobs, 0) as total_jobs,
        coalesce(technician_summary.total_revenue, 0) as total_revenue,

        -- booleans
        technicians.is_managed_tech,
        technicians.is_active,
        technicians.is_deleted,
        technicians.has_cast_errors,

        -- lists
        technicians.zone_ids,

        -- timestamps
        technicians.created_at,
        technicians.modified_at

    from technicians
    left join business_units
        on
            technicians.tenant_id = business_units.tenant_id
            and technicians.business_unit_id = business_units.business_unit_id
    left join technician_summary
        on
            technicians.tenant_id = technician_summary.tenant_id
            and technicians.technician_id = technician_summary.technician_id

)

select * from final
