{%- set casts = {
    'business_unit_id': ['record."businessUnitId"', 'bigint'],
    'cost': ['record.cost', 'numeric'],
    'price': ['record.price', 'numeric'],
    'member_price': ['record."memberPrice"', 'numeric'],
    'add_on_price': ['record."addOnPrice"', 'numeric'],
    'hours': ['record.hours', 'numeric'],
    'bonus': ['record.bonus', 'numeric'],
    'is_taxable': ['record.taxable', 'boolean'],
    'is_labor': ['record."isLabor"', 'boolean'],
    'created_at': ['record."createdOn"', 'timestamptz'],
    'is_active': ['record.active', 'boolean', 'latest.active'],
    'modified_at': ['record."modifiedOn"', 'timestamptz', 'latest.modified_on'],
} -%}

with

latest as (

    {{ latest_version('servicetitan', 'st_pricebook_services') }}

),

renamed as (

    select
        ---------- ids
        latest.tenant_id || '-' || latest.st_id as pricebook_service_key,
        latest.tenant_id,
        latest.st_id as pricebook_service_id,
        typed.business_unit_id,

        ---------- strings
        record.code as sku_code,
        record."displayName" as display_name,
        record.description,
        record.account,

        ---------- numerics
        typed.cost,
        typed.price,
        typed.member_price,
        typed.add_on_price,
        typed.hours,
        typed.bonus,

        ---------- booleans
        typed.is_taxable,
        typed.is_labor,
        {{ servicetitan_is_active() }} as is_active,
        latest.is_deleted,
        {{ cast_error_columns(casts) }} is not null as has_type_errors,

        ---------- lists and nested records
        record.categories,
        record."serviceMaterials" as service_materials,
        record.warranty,

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
            code text,
            "displayName" text,
            description text,
            account text,
            cost text,
            price text,
            "memberPrice" text,
            "addOnPrice" text,
            hours text,
            bonus text,
            taxable text,
            "isLabor" text,
            categories jsonb,
            "serviceMaterials" jsonb,
            warranty jsonb,
            "createdOn" text
        )
    cross join lateral (  -- noqa: ST05
        -- each cast once: the limit keeps PostgreSQL from inlining the casts
        -- into every expression that uses them (cast_error_columns)
        select
            {{ typed_column(casts, 'business_unit_id') }},
            {{ typed_column(casts, 'cost') }},
            {{ typed_column(casts, 'price') }},
            {{ typed_column(casts, 'member_price') }},
            {{ typed_column(casts, 'add_on_price') }},
            {{ typed_column(casts, 'hours') }},
            {{ typed_column(casts, 'bonus') }},
            {{ typed_column(casts, 'is_taxable') }},
            {{ typed_column(casts, 'is_labor') }},
            {{ typed_column(casts, 'created_at') }},
            {{ typed_column(casts, 'is_active') }},
            {{ typed_column(casts, 'modified_at') }}
        limit all  -- noqa: AM09
    ) as typed

)

select * from renamed
