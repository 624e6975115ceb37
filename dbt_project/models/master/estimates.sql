{{
    config(
        materialized='incremental',
        unique_key='estimate_key',
        incremental_strategy='merge',
        on_schema_change='fail',
        pre_hook="{{ full_build_hints() }}",
        indexes=[
            {'columns': ['estimate_key'], 'unique': true},
            {'columns': ['tenant_id', 'estimate_id'], 'unique': true},
            {'columns': ['last_load_id']},
            {'columns': ['batch_at']},
            {'columns': ['tenant_id', 'customer_id']},
            {'columns': ['tenant_id', 'job_id']},
            {'columns': ['tenant_id', 'sold_by_technician_id']},
            {'columns': ['created_at']},
        ],
    )
}}

-- change capture (used only by incremental runs):
-- depends_on: {{ ref('stg_servicetitan__record_versions') }}
-- depends_on: {{ ref('stg_servicetitan__loads') }}

with

technicians as (

    select * from {{ ref('stg_servicetitan__technicians') }}

),

{% if is_incremental() %}

    changed_records as (

        {{ changed_records(
            'servicetitan',
            ['estimates', 'customers', 'technicians'],
        ) }}

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

    candidate_estimates as (

        -- changed estimates, and estimates showing the old name of a renamed
        -- customer or technician
        select
            changed_records.tenant_id,
            changed_records.record_id as estimate_id
        from changed_records
        where changed_records.entity = 'estimates'
        union
        select
            previous_estimates.tenant_id,
            previous_estimates.estimate_id
        from renamed_customers
        inner join {{ this }} as previous_estimates
            on
                renamed_customers.tenant_id = previous_estimates.tenant_id
                and renamed_customers.customer_id
                = previous_estimates.customer_id
        where
            renamed_customers.customer_name
            is distinct from previous_estimates.customer_name
        union
        select
            previous_estimates.tenant_id,
            previous_estimates.estimate_id
        from changed_records
        inner join technicians as renamed_technicians
            on
                changed_records.tenant_id = renamed_technicians.tenant_id
                and changed_records.record_id
                = renamed_technicians.technician_id
        inner join {{ this }} as previous_estimates
            on
                renamed_technicians.tenant_id = previous_estimates.tenant_id
                and renamed_technicians.technician_id
                = previous_estimates.sold_by_technician_id
        where
            changed_records.entity = 'technicians'
            and renamed_technicians.technician_name
            is distinct from previous_estimates.sold_by_name

    ),

    estimates as (

        {{ lookup(
            ref('stg_servicetitan__estimates'),
            'candidate_estimates',
            ['tenant_id', 'estimate_id'],
        ) }}

    ),

    customers as (

        {{ lookup(
            ref('stg_servicetitan__customers'),
            'estimates',
            ['tenant_id', 'customer_id'],
        ) }}

    ),

{% else %}

    estimates as (

        select * from {{ ref('stg_servicetitan__estimates') }}

    ),

    customers as (

        select * from {{ ref('stg_servicetitan__customers') }}

    ),

{% endif %}

final as (

    select
        -- ids
        estimates.estimate_key,
        estimates.tenant_id,
        estimates.estimate_id,
        estimates.job_id,
        estimates.customer_id,
        estimates.location_id,
        estimates.business_unit_id,
        estimates.sold_by_technician_id,

        -- strings
        estimates.estimate_name,
        estimates.estimate_status,
        estimates.job_number,
        customers.customer_name,
        technicians.technician_name as sold_by_name,
        estimates.business_unit_name,
        estimates.review_status,

        -- numerics
        estimates.subtotal,
        estimates.tax,
        estimates.subtotal + estimates.tax as total,
        case
            when jsonb_typeof(estimates.items) = 'array'
                then jsonb_array_length(estimates.items)
            else 0
        end as item_count,

        -- booleans
        estimates.is_recommended,
        estimates.is_change_order,
        estimates.is_active,
        estimates.is_deleted,
        estimates.has_type_errors,

        -- timestamps
        estimates.created_at,
        estimates.sold_at,
        estimates.modified_at,

        -- lineage
        {{ last_load_id('servicetitan', ['estimates.dlt_load_id']) }}
            as last_load_id,
        {{ run_batch_at() }} as batch_at

    from estimates
    left join customers
        on
            estimates.tenant_id = customers.tenant_id
            and estimates.customer_id = customers.customer_id
    left join technicians
        on
            estimates.tenant_id = technicians.tenant_id
            and estimates.sold_by_technician_id = technicians.technician_id

)

select * from final
