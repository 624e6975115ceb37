{%- set casts = {
    'customer_id': ['record."customerId"', 'bigint', 'latest.customer_id'],
    'zone_id': ['record."zoneId"', 'bigint', 'latest.zone_id'],
    'tax_zone_id': ['record."taxZoneId"', 'bigint', 'latest.tax_zone_id'],
    'merged_to_location_id': ['record."mergedToId"', 'bigint'],
    'latitude': ['record.address ->> \'latitude\'', 'double precision'],
    'longitude': ['record.address ->> \'longitude\'', 'double precision'],
    'is_tax_exempt': ['record."taxExempt"', 'boolean'],
    'created_at': ['record."createdOn"', 'timestamptz'],
    'is_active': ['record.active', 'boolean', 'latest.active'],
    'modified_at': ['record."modifiedOn"', 'timestamptz', 'latest.modified_on'],
} -%}

with

latest as (

    {{ latest_version('servicetitan', 'st_locations') }}

),

renamed as (

    select
        ---------- ids
        latest.tenant_id || '-' || latest.st_id as location_key,
        latest.tenant_id,
        latest.st_id as location_id,
        typed.customer_id,
        typed.zone_id,
        typed.tax_zone_id,
        typed.merged_to_location_id,

        ---------- strings
        record.name as location_name,
        record.address ->> 'street' as street,
        record.address ->> 'unit' as unit,
        record.address ->> 'city' as city,
        record.address ->> 'state' as state,
        record.address ->> 'zip' as zip,
        record.address ->> 'country' as country,

        ---------- numerics
        typed.latitude,
        typed.longitude,

        ---------- booleans
        typed.is_tax_exempt,
        {{ servicetitan_is_active() }} as is_active,
        latest.is_deleted,
        {{ cast_error_columns(casts) }} is not null as has_type_errors,

        ---------- lists and nested records
        record."tagTypeIds" as tag_type_ids,
        record."customFields" as custom_fields,

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
            "customerId" text,
            "zoneId" text,
            "taxZoneId" text,
            "mergedToId" text,
            name text,
            address jsonb,
            "taxExempt" text,
            "tagTypeIds" jsonb,
            "customFields" jsonb,
            "createdOn" text
        )
    cross join lateral (  -- noqa: ST05
        -- each cast once: the limit keeps PostgreSQL from inlining the casts
        -- into every expression that uses them (cast_error_columns)
        select
            {{ typed_column(casts, 'customer_id') }},
            {{ typed_column(casts, 'zone_id') }},
            {{ typed_column(casts, 'tax_zone_id') }},
            {{ typed_column(casts, 'merged_to_location_id') }},
            {{ typed_column(casts, 'latitude') }},
            {{ typed_column(casts, 'longitude') }},
            {{ typed_column(casts, 'is_tax_exempt') }},
            {{ typed_column(casts, 'created_at') }},
            {{ typed_column(casts, 'is_active') }},
            {{ typed_column(casts, 'modified_at') }}
        limit all  -- noqa: AM09
    ) as typed

)

select * from renamed
