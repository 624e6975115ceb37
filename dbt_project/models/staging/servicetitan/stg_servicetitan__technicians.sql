{%- set casts = {
    'business_unit_id': ['record."businessUnitId"', 'bigint', 'latest.business_unit_id'],
    'user_id': ['record."userId"', 'bigint'],
    'main_zone_id': ['record."mainZoneId"', 'bigint'],
    'hourly_rate': ['record."hourlyRate"', 'numeric'],
    'burden_rate': ['record."burdenRate"', 'numeric'],
    'daily_goal': ['record."dailyGoal"', 'numeric'],
    'is_managed_tech': ['record."isManagedTech"', 'boolean'],
    'created_at': ['record."createdOn"', 'timestamptz'],
    'is_active': ['record.active', 'boolean', 'latest.active'],
    'modified_at': ['record."modifiedOn"', 'timestamptz', 'latest.modified_on'],
} -%}

with

latest as (

    {{ latest_version('servicetitan', 'st_technicians') }}

),

renamed as (

    select
        ---------- ids
        latest.tenant_id || '-' || latest.st_id as technician_key,
        latest.tenant_id,
        latest.st_id as technician_id,
        typed.business_unit_id,
        typed.user_id,
        typed.main_zone_id,

        ---------- strings
        record.name as technician_name,
        record."firstName" as first_name,
        record."lastName" as last_name,
        record.email,
        record."phoneNumber" as phone,
        {{ crm_normalize_phone('record."phoneNumber"') }} as phone_normalized,
        record.team as team_name,
        record."loginName" as login_name,
        record."payrollId" as payroll_id,

        ---------- numerics
        typed.hourly_rate,
        typed.burden_rate,
        typed.daily_goal,

        ---------- booleans
        typed.is_managed_tech,
        {{ servicetitan_is_active() }} as is_active,
        latest.is_deleted,
        {{ cast_error_columns(casts) }} is not null as has_type_errors,

        ---------- lists and nested records
        record."zoneIds" as zone_ids,
        record.positions,

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
            "businessUnitId" text,
            "userId" text,
            "mainZoneId" text,
            name text,
            "firstName" text,
            "lastName" text,
            email text,
            "phoneNumber" text,
            team text,
            "loginName" text,
            "payrollId" text,
            "hourlyRate" text,
            "burdenRate" text,
            "dailyGoal" text,
            "isManagedTech" text,
            "zoneIds" jsonb,
            positions jsonb,
            "createdOn" text
        )
    cross join lateral (  -- noqa: ST05
        -- each cast once: the limit keeps PostgreSQL from inlining the casts
        -- into every expression that uses them (cast_error_columns)
        select
            {{ typed_column(casts, 'business_unit_id') }},
            {{ typed_column(casts, 'user_id') }},
            {{ typed_column(casts, 'main_zone_id') }},
            {{ typed_column(casts, 'hourly_rate') }},
            {{ typed_column(casts, 'burden_rate') }},
            {{ typed_column(casts, 'daily_goal') }},
            {{ typed_column(casts, 'is_managed_tech') }},
            {{ typed_column(casts, 'created_at') }},
            {{ typed_column(casts, 'is_active') }},
            {{ typed_column(casts, 'modified_at') }}
        limit all  -- noqa: AM09
    ) as typed

)

select * from renamed
