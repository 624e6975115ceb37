{{
    config(
        materialized='incremental',
        unique_key='location_key',
        incremental_strategy='merge',
        on_schema_change='fail',
        pre_hook="{{ full_build_hints() }}",
        indexes=[
            {'columns': ['location_key'], 'unique': true},
            {'columns': ['tenant_id', 'location_id'], 'unique': true},
            {'columns': ['last_load_id']},
            {'columns': ['batch_at']},
            {'columns': ['tenant_id', 'customer_id']},
            {'columns': ['zip']},
        ],
    )
}}

-- change capture (used only by incremental runs):
-- depends_on: {{ ref('stg_servicetitan__record_versions') }}
-- depends_on: {{ ref('stg_servicetitan__loads') }}

with

{% if is_incremental() %}

    changed_records as (

        {{ changed_records('servicetitan', ['locations']) }}

    ),

    candidate_locations as (

        select
            changed_records.tenant_id,
            changed_records.record_id as location_id
        from changed_records

    ),

    locations as (

        {{ lookup(
            ref('stg_servicetitan__locations'),
            'candidate_locations',
            ['tenant_id', 'location_id'],
        ) }}

    ),

{% else %}

    locations as (

        select * from {{ ref('stg_servicetitan__locations') }}

    ),

{% endif %}

final as (

    select
        -- ids
        locations.location_key,
        locations.tenant_id,
        locations.location_id,
        locations.customer_id,
        locations.zone_id,
        locations.tax_zone_id,
        locations.merged_to_location_id,

        -- strings
        locations.location_name,
        locations.street,
        locations.unit,
        locations.city,
        locations.state,
        locations.zip,
        locations.country,

        -- numerics
        locations.latitude,
        locations.longitude,

        -- booleans
        locations.is_tax_exempt,
        locations.is_active,
        locations.is_deleted,
        locations.has_type_errors,

        -- lists
        locations.tag_type_ids,

        -- timestamps
        locations.created_at,
        locations.modified_at,

        -- lineage
        {{ last_load_id('servicetitan', ['locations.dlt_load_id']) }}
            as last_load_id,
        {{ run_batch_at() }} as batch_at

    from locations

)

select * from final
