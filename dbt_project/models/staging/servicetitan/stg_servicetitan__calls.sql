{%- set casts = {
    'customer_id': ['record.customer ->> \'id\'', 'bigint', 'latest.customer_id'],
    'location_id': ['record.location ->> \'id\'', 'bigint'],
    'job_id': ['record.job ->> \'id\'', 'bigint', 'latest.job_id'],
    'campaign_id': ['record.campaign ->> \'id\'', 'bigint', 'latest.campaign_id'],
    'call_reason_id': ['record.reason ->> \'id\'', 'bigint'],
    'agent_employee_id': ['record.agent ->> \'id\'', 'bigint'],
    'duration': ['record.duration', 'timespan'],
    'created_at': ['record."createdOn"', 'timestamptz', 'latest.created_on'],
    'is_active': ['record.active', 'boolean', 'latest.active'],
    'modified_at': ['record."modifiedOn"', 'timestamptz', 'latest.modified_on'],
} -%}

with

latest as (

    {{ latest_version('servicetitan', 'st_calls') }}

),

renamed as (

    select
        ---------- ids
        latest.tenant_id || '-' || latest.st_id as call_key,
        latest.tenant_id,
        latest.st_id as call_id,
        typed.customer_id,
        typed.location_id,
        typed.job_id,
        typed.campaign_id,
        typed.call_reason_id,
        typed.agent_employee_id,

        ---------- strings
        record.direction,
        record.type as call_type,
        record.status as call_status,
        record."from" as from_number,
        record."to" as to_number,
        {{ crm_normalize_phone('record."from"') }} as from_phone_normalized,
        {{ crm_normalize_phone('record."to"') }} as to_phone_normalized,
        record.campaign ->> 'name' as campaign_name,
        record.reason ->> 'name' as call_reason_name,
        record.agent ->> 'name' as agent_name,
        record."excuseMemo" as excuse_memo,
        record."recordingUrl" as recording_url,

        ---------- numerics
        typed.duration,

        ---------- booleans
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
            customer jsonb,
            location jsonb,
            job jsonb,
            campaign jsonb,
            reason jsonb,
            agent jsonb,
            direction text,
            type text,
            status text,
            "from" text,
            "to" text,
            "excuseMemo" text,
            "recordingUrl" text,
            duration text,
            "createdOn" text
        )
    cross join lateral (  -- noqa: ST05
        -- each cast once: the limit keeps PostgreSQL from inlining the casts
        -- into every expression that uses them (cast_error_columns)
        select
            {{ typed_column(casts, 'customer_id') }},
            {{ typed_column(casts, 'location_id') }},
            {{ typed_column(casts, 'job_id') }},
            {{ typed_column(casts, 'campaign_id') }},
            {{ typed_column(casts, 'call_reason_id') }},
            {{ typed_column(casts, 'agent_employee_id') }},
            {{ typed_column(casts, 'duration') }},
            {{ typed_column(casts, 'created_at') }},
            {{ typed_column(casts, 'is_active') }},
            {{ typed_column(casts, 'modified_at') }}
        limit all  -- noqa: AM09
    ) as typed

)

select * from renamed
