{{ config(pre_hook="{{ full_build_hints() }}") }}

with

technicians as (

    select * from {{ ref('stg_servicetitan__technicians') }}

),

business_units as (

    select * from {{ ref('stg_servicetitan__business_units') }}

),

job_totals as (

    select * from {{ ref('int_technician_job_totals') }}

),

technician_summary as (

    -- live (active, non-canceled) jobs of every month and status; revenue of
    -- the Completed ones
    select
        job_totals.tenant_id,
        job_totals.technician_id,
        sum(job_totals.job_count)::bigint as total_jobs,
        sum(job_totals.revenue) filter (
            where job_totals.is_completed
        ) as total_revenue
    from job_totals
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
        technicians.has_type_errors,

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
