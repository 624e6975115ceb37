{%- set casts = {
    'parent_category_id': ['record."parentId"', 'bigint', 'latest.parent_id'],
    'position': ['record.position', 'integer'],
    'is_hidden_in_mobile': ['record."hideInMobile"', 'boolean'],
    'created_at': ['record."createdOn"', 'timestamptz'],
    'is_active': ['record.active', 'boolean', 'latest.active'],
    'modified_at': ['record."modifiedOn"', 'timestamptz', 'latest.modified_on'],
} -%}

with

latest as (

    {{ latest_version('servicetitan', 'st_pricebook_categories') }}

),

renamed as (

    select
        ---------- ids
        latest.tenant_id || '-' || latest.st_id as pricebook_category_key,
        latest.tenant_id,
        latest.st_id as pricebook_category_id,
        typed.parent_category_id,

        ---------- strings
        record.name as category_name,
        record."categoryType" as category_type,
        record.description,

        ---------- numerics
        typed.position,

        ---------- booleans
        typed.is_hidden_in_mobile,
        {{ servicetitan_is_active() }} as is_active,
        latest.is_deleted,
        {{ cast_error_columns(casts) }} is not null as has_type_errors,

        ---------- lists and nested records
        record.subcategories,
        record."businessUnitIds" as business_unit_ids,

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
            "parentId" text,
            name text,
            "categoryType" text,
            description text,
            position text,
            "hideInMobile" text,
            subcategories jsonb,
            "businessUnitIds" jsonb,
            "createdOn" text
        )
    cross join lateral (  -- noqa: ST05
        -- each cast once: the limit keeps PostgreSQL from inlining the casts
        -- into every expression that uses them (cast_error_columns)
        select
            {{ typed_column(casts, 'parent_category_id') }},
            {{ typed_column(casts, 'position') }},
            {{ typed_column(casts, 'is_hidden_in_mobile') }},
            {{ typed_column(casts, 'created_at') }},
            {{ typed_column(casts, 'is_active') }},
            {{ typed_column(casts, 'modified_at') }}
        limit all  -- noqa: AM09
    ) as typed

)

select * from renamed
