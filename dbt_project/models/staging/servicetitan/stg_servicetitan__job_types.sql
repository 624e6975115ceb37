{%- set casts = {
    'duration_seconds': ['record.duration', 'bigint', 'latest.duration'],
    'sold_threshold': ['record."soldThreshold"', 'numeric'],
    'is_no_charge': ['record."noCharge"', 'boolean'],
    'created_at': ['record."createdOn"', 'timestamptz'],
    'is_active': ['record.active', 'boolean', 'latest.active'],
    'modified_at': ['record."modifiedOn"', 'timestamptz', 'latest.modified_on'],
} -%}

with

latest as (

    {{ latest_version('servicetitan', 'st_job_types') }}

),

renamed as (

    select
        ---------- ids
        latest.tenant_id || '-' || latest.st_id as job_type_key,
        latest.tenant_id,
        latest.st_id as job_type_id,
        typed.duration_seconds,

        ---------- strings
        record.name as job_type_name,
        record.class as job_class,
        record.priority,
        record.summary,

        ---------- numerics
        typed.duration_seconds * interval '1 second' as duration,
        typed.sold_threshold,

        ---------- booleans
        typed.is_no_charge,
        {{ servicetitan_is_active() }} as is_active,
        latest.is_deleted,
        {{ cast_error_columns(casts) }} is not null as has_type_errors,

        ---------- lists and nested records
        record."businessUnitIds" as business_unit_ids,
        record.skills,

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
            class text,
            priority text,
            summary text,
            duration text,
            "soldThreshold" text,
            "noCharge" text,
            "businessUnitIds" jsonb,
            skills jsonb,
            "createdOn" text
        )
    cross join lateral (  -- noqa: ST05
        -- each cast once: the limit keeps PostgreSQL from inlining the casts
        -- into every expression that uses them (cast_error_columns)
        select
            {{ typed_column(casts, 'duration_seconds') }},
            {{ typed_column(casts, 'sold_threshold') }},
            {{ typed_column(casts, 'is_no_charge') }},
            {{ typed_column(casts, 'created_at') }},
            {{ typed_column(casts, 'is_active') }},
            {{ typed_column(casts, 'modified_at') }}
        limit all  -- noqa: AM09
    ) as typed

)

select * from renamed
