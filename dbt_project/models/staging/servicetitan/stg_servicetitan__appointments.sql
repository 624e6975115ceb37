{%- set casts = {
    'job_id': ['record."jobId"', 'bigint', 'latest.job_id'],
    'customer_id': ['record."customerId"', 'bigint'],
    'created_by_employee_id': ['record."createdById"', 'bigint'],
    'is_confirmed': ['record."isConfirmed"', 'boolean'],
    'is_unused': ['record.unused', 'boolean'],
    'starts_at': ['record.start', 'timestamptz', 'latest.start_time'],
    'ends_at': ['record."end"', 'timestamptz', 'latest.end_time'],
    'arrival_window_starts_at': ['record."arrivalWindowStart"', 'timestamptz'],
    'arrival_window_ends_at': ['record."arrivalWindowEnd"', 'timestamptz'],
    'created_at': ['record."createdOn"', 'timestamptz'],
    'is_active': ['record.active', 'boolean', 'latest.active'],
    'modified_at': ['record."modifiedOn"', 'timestamptz', 'latest.modified_on'],
} -%}

with

latest as (

    {{ latest_version('servicetitan', 'st_appointments') }}

),

renamed as (

    select
        ---------- ids
        latest.tenant_id || '-' || latest.st_id as appointment_key,
        latest.tenant_id,
        latest.st_id as appointment_id,
        typed.job_id,
        typed.customer_id,
        typed.created_by_employee_id,

        ---------- strings
        record."appointmentNumber" as appointment_number,
        record.status as appointment_status,
        record."specialInstructions" as special_instructions,

        ---------- booleans
        typed.is_confirmed,
        typed.is_unused,
        {{ servicetitan_is_active() }} as is_active,
        latest.is_deleted,
        {{ cast_error_columns(casts) }} is not null as has_type_errors,

        ---------- timestamps (UTC)
        typed.created_at,
        typed.starts_at,
        typed.ends_at,
        typed.arrival_window_starts_at,
        typed.arrival_window_ends_at,
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
            "jobId" text,
            "customerId" text,
            "createdById" text,
            "appointmentNumber" text,
            status text,
            "specialInstructions" text,
            "isConfirmed" text,
            unused text,
            start text,
            "end" text,
            "arrivalWindowStart" text,
            "arrivalWindowEnd" text,
            "createdOn" text
        )
    cross join lateral (  -- noqa: ST05
        -- each cast once: the limit keeps PostgreSQL from inlining the casts
        -- into every expression that uses them (cast_error_columns)
        select
            {{ typed_column(casts, 'job_id') }},
            {{ typed_column(casts, 'customer_id') }},
            {{ typed_column(casts, 'created_by_employee_id') }},
            {{ typed_column(casts, 'is_confirmed') }},
            {{ typed_column(casts, 'is_unused') }},
            {{ typed_column(casts, 'starts_at') }},
            {{ typed_column(casts, 'ends_at') }},
            {{ typed_column(casts, 'arrival_window_starts_at') }},
            {{ typed_column(casts, 'arrival_window_ends_at') }},
            {{ typed_column(casts, 'created_at') }},
            {{ typed_column(casts, 'is_active') }},
            {{ typed_column(casts, 'modified_at') }}
        limit all  -- noqa: AM09
    ) as typed

)

select * from renamed
