{%- set casts = {
    'default_tax_rate': ['record."defaultTaxRate"', 'numeric'],
    'created_at': ['record."createdOn"', 'timestamptz'],
    'is_active': ['record.active', 'boolean', 'latest.active'],
    'modified_at': ['record."modifiedOn"', 'timestamptz', 'latest.modified_on'],
} -%}

with

latest as (

    {{ latest_version('servicetitan', 'st_business_units') }}

),

renamed as (

    select
        ---------- ids
        latest.tenant_id || '-' || latest.st_id as business_unit_key,
        latest.tenant_id,
        latest.st_id as business_unit_id,

        ---------- strings
        record.name as business_unit_name,
        record."officialName" as official_name,
        record.email,
        record."phoneNumber" as phone,
        {{ crm_normalize_phone('record."phoneNumber"') }} as phone_normalized,
        record.trade ->> 'name' as trade_name,
        record.division ->> 'name' as division_name,
        record.currency,
        record."quickbooksClass" as quickbooks_class,
        record.address ->> 'street' as street,
        record.address ->> 'unit' as unit,
        record.address ->> 'city' as city,
        record.address ->> 'state' as state,
        record.address ->> 'zip' as zip,
        record.address ->> 'country' as country,

        ---------- numerics
        typed.default_tax_rate,

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
            name text,
            "officialName" text,
            email text,
            "phoneNumber" text,
            trade jsonb,
            division jsonb,
            currency text,
            "quickbooksClass" text,
            address jsonb,
            "defaultTaxRate" text,
            "createdOn" text
        )
    cross join lateral (  -- noqa: ST05
        -- each cast once: the limit keeps PostgreSQL from inlining the casts
        -- into every expression that uses them (cast_error_columns)
        select
            {{ typed_column(casts, 'default_tax_rate') }},
            {{ typed_column(casts, 'created_at') }},
            {{ typed_column(casts, 'is_active') }},
            {{ typed_column(casts, 'modified_at') }}
        limit all  -- noqa: AM09
    ) as typed

)

select * from renamed
