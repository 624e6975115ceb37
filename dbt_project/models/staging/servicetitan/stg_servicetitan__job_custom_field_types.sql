{%- set casts = {
    'created_at': ['record."createdOn"', 'timestamptz'],
    'is_active': ['record.active', 'boolean', 'latest.active'],
    'modified_at': ['record."modifiedOn"', 'timestamptz', 'latest.modified_on'],
} -%}

with

source as (

    select * from {{ source('servicetitan', 'st_job_custom_field_types') }}

),

latest as (

    {{ servicetitan_latest_version('source') }}

),

renamed as (

    select
        -- ids
        latest.tenant_id || '-' || latest.st_id as job_custom_field_type_key,
        latest.tenant_id,
        latest.st_id as job_custom_field_type_id,

        -- strings
        record.name as field_name,
        record."dataType" as data_type,

        -- booleans
        coalesce(typed.is_active, true) as is_active,
        latest.is_deleted,
        {{ cast_error_columns(casts) }} is not null as has_cast_errors,

        -- lists and nested records
        record."dataTypeOptions" as data_type_options,

        -- timestamps (UTC)
        typed.created_at,
        typed.modified_at,

        -- data quality and lineage
        {{ cast_error_columns(casts) }} as cast_error_columns,
        latest.type_errors as raw_type_errors,
        latest._dlt_load_id

    from latest
    cross join
        lateral jsonb_to_record(latest.full_data) as record (
            active text,
            "modifiedOn" text,
            name text,
            "dataType" text,
            "dataTypeOptions" jsonb,
            "createdOn" text
        )
    cross join lateral (  -- noqa: ST05
        -- each cast once: the limit keeps PostgreSQL from inlining the casts
        -- into every expression that uses them (cast_error_columns)
        select
            {{ typed_column(casts, 'created_at') }},
            {{ typed_column(casts, 'is_active') }},
            {{ typed_column(casts, 'modified_at') }}
        limit all  -- noqa: AM09
    ) as typed

)

select * from renamed
