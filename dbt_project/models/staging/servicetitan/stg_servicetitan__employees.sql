{%- set casts = {
    'business_unit_id': ['record."businessUnitId"', 'bigint', 'latest.business_unit_id'],
    'user_id': ['record."userId"', 'bigint'],
    'manager_employee_id': ['record."managerId"', 'bigint'],
    'hourly_rate': ['record."hourlyRate"', 'numeric'],
    'terminated_at': ['record."terminationDate"', 'timestamptz'],
    'created_at': ['record."createdOn"', 'timestamptz'],
    'is_active': ['record.active', 'boolean', 'latest.active'],
    'modified_at': ['record."modifiedOn"', 'timestamptz', 'latest.modified_on'],
} -%}

with

latest as (

    {{ latest_version('servicetitan', 'st_employees') }}

),

renamed as (

    select
        ---------- ids
        latest.tenant_id || '-' || latest.st_id as employee_key,
        latest.tenant_id,
        latest.st_id as employee_id,
        typed.business_unit_id,
        typed.user_id,
        typed.manager_employee_id,

        ---------- strings
        record.name as employee_name,
        record."firstName" as first_name,
        record."lastName" as last_name,
        record.email,
        record."phoneNumber" as phone,
        record.role,
        record."loginName" as login_name,

        ---------- numerics
        typed.hourly_rate,

        ---------- booleans
        {{ servicetitan_is_active() }} as is_active,
        latest.is_deleted,
        {{ cast_error_columns(casts) }} is not null as has_type_errors,

        ---------- timestamps (UTC)
        typed.created_at,
        typed.terminated_at,
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
            "businessUnitId" text,
            "userId" text,
            "managerId" text,
            name text,
            "firstName" text,
            "lastName" text,
            email text,
            "phoneNumber" text,
            role text,
            "loginName" text,
            "hourlyRate" text,
            "terminationDate" text,
            "createdOn" text
        )
    cross join lateral (  -- noqa: ST05
        -- each cast once: the limit keeps PostgreSQL from inlining the casts
        -- into every expression that uses them (cast_error_columns)
        select
            {{ typed_column(casts, 'business_unit_id') }},
            {{ typed_column(casts, 'user_id') }},
            {{ typed_column(casts, 'manager_employee_id') }},
            {{ typed_column(casts, 'hourly_rate') }},
            {{ typed_column(casts, 'terminated_at') }},
            {{ typed_column(casts, 'created_at') }},
            {{ typed_column(casts, 'is_active') }},
            {{ typed_column(casts, 'modified_at') }}
        limit all  -- noqa: AM09
    ) as typed

)

select * from renamed
