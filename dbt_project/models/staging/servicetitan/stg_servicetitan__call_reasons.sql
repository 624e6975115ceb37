{%- set casts = {
    'is_lead': ['record."isLead"', 'boolean', 'latest.is_lead'],
    'created_at': ['record."createdOn"', 'timestamptz'],
    'is_active': ['record.active', 'boolean', 'latest.active'],
    'modified_at': ['record."modifiedOn"', 'timestamptz', 'latest.modified_on'],
} -%}

with

latest as (

    {{ latest_version('servicetitan', 'st_call_reasons') }}

),

renamed as (

    select
        ---------- ids
        latest.tenant_id || '-' || latest.st_id as call_reason_key,
        latest.tenant_id,
        latest.st_id as call_reason_id,

        ---------- strings
        record.name as call_reason_name,

        ---------- booleans
        typed.is_lead,
        {{ servicetitan_is_active() }} as is_active,
        latest.is_deleted,
        {{ cast_error_columns(casts) }} is not null as has_type_errors,

        ---------- timestamps (UTC)
        typed.created_at,
        typed.modified_at,

        ---------- data quality
        {{ cast_error_columns(casts) }} as cast_error_columns,
        latest.type_errors as raw_type_errors,

        ---------- load metadata
        latest._dlt_load_id as dlt_load_id

    from latest
    cross join
        lateral jsonb_to_record(latest.full_data) as record (
            active text,
            "modifiedOn" text,
            name text,
            "isLead" text,
            "createdOn" text
        )
    cross join lateral (  -- noqa: ST05
        -- each cast once: the limit keeps PostgreSQL from inlining the casts
        -- into every expression that uses them (cast_error_columns)
        select
            {{ typed_column(casts, 'is_lead') }},
            {{ typed_column(casts, 'created_at') }},
            {{ typed_column(casts, 'is_active') }},
            {{ typed_column(casts, 'modified_at') }}
        limit all  -- noqa: AM09
    ) as typed

)

select * from renamed
