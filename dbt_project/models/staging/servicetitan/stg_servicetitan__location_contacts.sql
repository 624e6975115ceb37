{%- set casts = {
    'location_id': ['record."locationId"', 'bigint', 'latest.location_id'],
    'is_do_not_text': ['record."phoneSettings" ->> \'doNotText\'', 'boolean'],
    'created_at': ['record."createdOn"', 'timestamptz'],
    'is_active': ['record.active', 'boolean', 'latest.active'],
    'modified_at': ['record."modifiedOn"', 'timestamptz', 'latest.modified_on'],
} -%}

with

source as (

    select * from {{ source('servicetitan', 'st_location_contacts') }}

),

latest as (

    {{ servicetitan_latest_version('source') }}

),

renamed as (

    select
        -- ids
        latest.tenant_id || '-' || latest.st_id as location_contact_key,
        latest.tenant_id,
        latest.st_id as location_contact_id,
        typed.location_id,

        -- strings
        record.type as contact_type,
        record.value as contact_value,
        record.memo,
        case
            when
                record.type <> 'Email'
                then {{ crm_normalize_phone('record.value') }}
        end
            as phone_normalized,
        case
            when
                record.type = 'Email'
                then {{ crm_normalize_email('record.value') }}
        end
            as email_normalized,

        -- booleans
        coalesce(record.type <> 'Email', false) as is_phone,
        coalesce(record.type = 'Email', false) as is_email,
        typed.is_do_not_text,
        coalesce(typed.is_active, true) as is_active,
        latest.is_deleted,
        {{ cast_error_columns(casts) }} is not null as has_cast_errors,

        -- lists and nested records
        record.preferences,

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
            "locationId" text,
            type text,
            value text,
            memo text,
            "phoneSettings" jsonb,
            preferences jsonb,
            "createdOn" text
        )
    cross join lateral (  -- noqa: ST05
        -- each cast once: the limit keeps PostgreSQL from inlining the casts
        -- into every expression that uses them (cast_error_columns)
        select
            {{ typed_column(casts, 'location_id') }},
            {{ typed_column(casts, 'is_do_not_text') }},
            {{ typed_column(casts, 'created_at') }},
            {{ typed_column(casts, 'is_active') }},
            {{ typed_column(casts, 'modified_at') }}
        limit all  -- noqa: AM09
    ) as typed

)

select * from renamed
