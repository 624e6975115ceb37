with

job_types as (

    select * from {{ ref('stg_servicetitan__job_types') }}

),

final as (

    select
        -- ids
        job_types.job_type_key,
        job_types.tenant_id,
        job_types.job_type_id,

        -- strings
        job_types.job_type_name,
        job_types.job_class,
        job_types.priority,
        job_types.summary,

        -- numerics
        job_types.duration,
        job_types.duration_seconds,
        job_types.sold_threshold,

        -- booleans
        job_types.is_no_charge,
        job_types.is_active,
        job_types.is_deleted,
        job_types.has_type_errors,

        -- lists
        job_types.business_unit_ids,

        -- timestamps
        job_types.created_at,
        job_types.modified_at

    from job_types

)

select * from final
