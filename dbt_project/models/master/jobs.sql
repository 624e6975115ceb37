{{
    config(
        materialized='incremental',
        unique_key='job_key',
        incremental_strategy='merge',
        on_schema_change='fail',
        pre_hook="{{ full_build_hints() }}",
        indexes=[
            {'columns': ['job_key'], 'unique': true},
            {'columns': ['tenant_id', 'job_id'], 'unique': true},
            {'columns': ['last_load_id']},
            {'columns': ['batch_at']},
            {'columns': ['tenant_id', 'customer_id']},
            {'columns': ['tenant_id', 'job_type_id']},
            {'columns': ['technician_ids'], 'type': 'gin'},
            {'columns': ['created_at']},
            {'columns': ['completed_at']},
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
            [
            'jobs', 'appointment_assignments', 'customers', 'job_types', 'technicians'
        ],
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

    previous_affected as (

        -- jobs showing the old name of a renamed customer, job type or
        -- technician
        select
            previous_jobs.tenant_id,
            previous_jobs.job_id
        from renamed_customers
        inner join {{ this }} as previous_jobs
            on
                renamed_customers.tenant_id = previous_jobs.tenant_id
                and renamed_customers.customer_id = previous_jobs.customer_id
        where
            renamed_customers.customer_name
            is distinct from previous_jobs.customer_name
        union all
        select
            previous_jobs.tenant_id,
            previous_jobs.job_id
        from changed_records
        inner join {{ ref('stg_servicetitan__job_types') }} as renamed_job_types
            on
                changed_records.tenant_id = renamed_job_types.tenant_id
                and changed_records.record_id = renamed_job_types.job_type_id
        inner join {{ this }} as previous_jobs
            on
                renamed_job_types.tenant_id = previous_jobs.tenant_id
                and renamed_job_types.job_type_id = previous_jobs.job_type_id
        where
            changed_records.entity = 'job_types'
            and renamed_job_types.job_type_name
            is distinct from previous_jobs.job_type_name
        union all
        select
            previous_jobs.tenant_id,
            previous_jobs.job_id
        from changed_records
        inner join
            {{ ref('stg_servicetitan__technicians') }} as renamed_technicians
            on
                changed_records.tenant_id = renamed_technicians.tenant_id
                and changed_records.record_id
                = renamed_technicians.technician_id
        inner join {{ this }} as previous_jobs
            on
                renamed_technicians.tenant_id = previous_jobs.tenant_id
                and previous_jobs.technician_ids
                @> array[renamed_technicians.technician_id]
        where
            changed_records.entity = 'technicians'
            and not coalesce(
                string_to_array(previous_jobs.technician_names, ', ')
                @> array[renamed_technicians.technician_name],
                false
            )

    ),

    candidate_jobs as (

        -- changed jobs, jobs whose assignments changed (now or before), jobs
        -- of renamed parents
        select
            changed_versions.tenant_id,
            changed_versions.job_id
        from changed_versions
        where
            changed_versions.entity in ('jobs', 'appointment_assignments')
            and changed_versions.job_id is not null
        union
        select
            previous_affected.tenant_id,
            previous_affected.job_id
        from previous_affected

    ),

    candidate_assignments as (

        select
            previous_jobs.tenant_id,
            unnest(previous_jobs.appointment_assignment_ids)
                as appointment_assignment_id
        from candidate_jobs
        inner join {{ this }} as previous_jobs
            on
                candidate_jobs.tenant_id = previous_jobs.tenant_id
                and candidate_jobs.job_id = previous_jobs.job_id
        union all
        select
            changed_records.tenant_id,
            changed_records.record_id as appointment_assignment_id
        from changed_records
        where changed_records.entity = 'appointment_assignments'

    ),

    jobs as (

        {{ lookup(
            ref('stg_servicetitan__jobs'),
            'candidate_jobs',
            ['tenant_id', 'job_id'],
        ) }}

    ),

    assignments as (

        {{ lookup(
            ref('stg_servicetitan__appointment_assignments'),
            'candidate_assignments',
            ['tenant_id', 'appointment_assignment_id'],
        ) }}

    ),

    customers as (

        {{ lookup(
            ref('stg_servicetitan__customers'),
            'jobs',
            ['tenant_id', 'customer_id'],
        ) }}

    ),

{% else %}

    jobs as (

        select * from {{ ref('stg_servicetitan__jobs') }}

    ),

    assignments as (

        select * from {{ ref('stg_servicetitan__appointment_assignments') }}

    ),

    customers as (

        select * from {{ ref('stg_servicetitan__customers') }}

    ),

{% endif %}

job_types as (

    select * from {{ ref('stg_servicetitan__job_types') }}

),

technicians as (

    select * from {{ ref('stg_servicetitan__technicians') }}

),

assignment_summary as (

    select
        assignments.tenant_id,
        assignments.job_id,
        array_agg(
            assignments.appointment_assignment_id
            order by assignments.appointment_assignment_id
        ) as appointment_assignment_ids,
        max(assignments.dlt_load_id) as last_load_id
    from assignments
    group by 1, 2

),

job_technicians as (

    -- distinct technicians holding an active assignment on each job
    select distinct
        assignments.tenant_id,
        assignments.job_id,
        assignments.technician_id,
        coalesce(
            technicians.technician_name, assignments.technician_name
        ) as technician_name
    from assignments
    left join technicians
        on
            assignments.tenant_id = technicians.tenant_id
            and assignments.technician_id = technicians.technician_id
    where
        assignments.is_active
        and not assignments.is_deleted
        and assignments.technician_id is not null

),

technician_summary as (

    select
        job_technicians.tenant_id,
        job_technicians.job_id,
        array_agg(
            job_technicians.technician_id order by job_technicians.technician_id
        ) as technician_ids,
        string_agg(
            job_technicians.technician_name,
            ', '
            order by
                job_technicians.technician_name, job_technicians.technician_id
        ) as technician_names
    from job_technicians
    group by 1, 2

),

final as (

    select
        -- ids
        jobs.job_key,
        jobs.tenant_id,
        jobs.job_id,
        jobs.customer_id,
        jobs.location_id,
        jobs.business_unit_id,
        jobs.job_type_id,
        jobs.campaign_id,
        jobs.lead_call_id,
        jobs.sold_by_technician_id,
        jobs.invoice_id,

        -- strings
        jobs.job_number,
        jobs.job_status,
        jobs.priority,
        customers.customer_name,
        job_types.job_type_name,
        technician_summary.technician_names,

        -- numerics
        jobs.total,
        jobs.appointment_count,

        -- booleans
        jobs.is_no_charge,
        jobs.is_active,
        jobs.is_deleted,
        jobs.has_type_errors,

        -- lists
        coalesce(technician_summary.technician_ids, '{}') as technician_ids,
        coalesce(
            assignment_summary.appointment_assignment_ids, '{}'
        ) as appointment_assignment_ids,

        -- timestamps
        jobs.created_at,
        jobs.completed_at,
        jobs.modified_at,

        -- lineage
        {{ last_load_id(
            'servicetitan',
            [
            'jobs.dlt_load_id',
            'assignment_summary.last_load_id',
        ],
        ) }} as last_load_id,
        {{ run_batch_at() }} as batch_at

    from jobs
    left join customers
        on
            jobs.tenant_id = customers.tenant_id
            and jobs.customer_id = customers.customer_id
    left join job_types
        on
            jobs.tenant_id = job_types.tenant_id
            and jobs.job_type_id = job_types.job_type_id
    left join assignment_summary
        on
            jobs.tenant_id = assignment_summary.tenant_id
            and jobs.job_id = assignment_summary.job_id
    left join technician_summary
        on
            jobs.tenant_id = technician_summary.tenant_id
            and jobs.job_id = technician_summary.job_id

)

select * from final
