{%- set casts = {
    'merged_to_customer_id': ['record."mergedToId"', 'bigint'],
    'created_by_employee_id': ['record."createdById"', 'bigint'],
    'latitude': ['record.address ->> \'latitude\'', 'double precision'],
    'longitude': ['record.address ->> \'longitude\'', 'double precision'],
    'balance': ['record.balance', 'numeric'],
    'credit_limit': ['record."creditLimit"', 'numeric'],
    'is_do_not_mail': ['record."doNotMail"', 'boolean'],
    'is_do_not_service': ['record."doNotService"', 'boolean'],
    'is_tax_exempt': ['record."taxExempt"', 'boolean'],
    'is_national_account': ['record."nationalAccount"', 'boolean'],
    'created_at': ['record."createdOn"', 'timestamptz', 'latest.created_on'],
    'is_active': ['record.active', 'boolean', 'latest.active'],
    'modified_at': ['record."modifiedOn"', 'timestamptz', 'latest.modified_on'],
} -%}

with

latest as (

    {{ latest_version('servicetitan', 'st_customers') }}

),

renamed as (

    select
        ---------- ids
        latest.tenant_id || '-' || latest.st_id as customer_key,
        latest.tenant_id,
        latest.st_id as customer_id,
        typed.merged_to_customer_id,
        typed.created_by_employee_id,

        ---------- strings
        record.name as customer_name,
        record.type as customer_type,
        record.address ->> 'street' as street,
        record.address ->> 'unit' as unit,
        record.address ->> 'city' as city,
        record.address ->> 'state' as state,
        record.address ->> 'zip' as zip,
        record.address ->> 'country' as country,

        ---------- numerics
        typed.latitude,
        typed.longitude,
        typed.balance,
        typed.credit_limit,

        ---------- booleans
        typed.is_do_not_mail,
        typed.is_do_not_service,
        typed.is_tax_exempt,
        typed.is_national_account,
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
            "mergedToId" text,
            "createdById" text,
            name text,
            type text,
            address jsonb,
            balance text,
            "creditLimit" text,
            "doNotMail" text,
            "doNotService" text,
            "taxExempt" text,
            "nationalAccount" text,
            "tagTypeIds" jsonb,
            "customFields" jsonb,
            "createdOn" text
        )
    cross join lateral (  -- noqa: ST05
        -- each cast once: the limit keeps PostgreSQL from inlining the casts
        -- into every expression that uses them (cast_error_columns)
        select
            {{ typed_column(casts, 'merged_to_customer_id') }},
            {{ typed_column(casts, 'created_by_employee_id') }},
            {{ typed_column(casts, 'latitude') }},
            {{ typed_column(casts, 'longitude') }},
            {{ typed_column(casts, 'balance') }},
            {{ typed_column(casts, 'credit_limit') }},
            {{ typed_column(casts, 'is_do_not_mail') }},
            {{ typed_column(casts, 'is_do_not_service') }},
            {{ typed_column(casts, 'is_tax_exempt') }},
            {{ typed_column(casts, 'is_national_account') }},
            {{ typed_column(casts, 'created_at') }},
            {{ typed_column(casts, 'is_active') }},
            {{ typed_column(casts, 'modified_at') }}
        limit all  -- noqa: AM09
    ) as typed

)

select * from renamed
