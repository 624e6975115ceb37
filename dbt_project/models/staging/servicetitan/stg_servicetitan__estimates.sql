{%- set casts = {
    'job_id': ['record."jobId"', 'bigint', 'latest.job_id'],
    'customer_id': ['record."customerId"', 'bigint', 'latest.customer_id'],
    'location_id': ['record."locationId"', 'bigint'],
    'business_unit_id': ['record."businessUnitId"', 'bigint'],
    'sold_by_technician_id': ['record."soldBy"', 'bigint'],
    'subtotal': ['record.subtotal', 'numeric'],
    'tax': ['record.tax', 'numeric'],
    'is_recommended': ['record."isRecommended"', 'boolean'],
    'is_change_order': ['record."isChangeOrder"', 'boolean'],
    'sold_at': ['record."soldOn"', 'timestamptz'],
    'created_at': ['record."createdOn"', 'timestamptz'],
    'is_active': ['record.active', 'boolean', 'latest.active'],
    'modified_at': ['record."modifiedOn"', 'timestamptz', 'latest.modified_on'],
} -%}

with

latest as (

    {{ latest_version('servicetitan', 'st_estimates') }}

),

renamed as (

    select
        ---------- ids
        latest.tenant_id || '-' || latest.st_id as estimate_key,
        latest.tenant_id,
        latest.st_id as estimate_id,
        typed.job_id,
        typed.customer_id,
        typed.location_id,
        typed.business_unit_id,
        typed.sold_by_technician_id,

        ---------- strings
        record.name as estimate_name,
        record."jobNumber" as job_number,
        record.status ->> 'name' as estimate_status,
        record."reviewStatus" as review_status,
        record.summary,
        record."businessUnitName" as business_unit_name,

        ---------- numerics
        typed.subtotal,
        typed.tax,

        ---------- booleans
        typed.is_recommended,
        typed.is_change_order,
        {{ servicetitan_is_active() }} as is_active,
        latest.is_deleted,
        {{ cast_error_columns(casts) }} is not null as has_type_errors,

        ---------- lists and nested records
        record.items,

        ---------- timestamps (UTC)
        typed.created_at,
        typed.sold_at,
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
            "locationId" text,
            "businessUnitId" text,
            "soldBy" text,
            name text,
            "jobNumber" text,
            status jsonb,
            "reviewStatus" text,
            summary text,
            "businessUnitName" text,
            subtotal text,
            tax text,
            "isRecommended" text,
            "isChangeOrder" text,
            items jsonb,
            "soldOn" text,
            "createdOn" text
        )
    cross join lateral (  -- noqa: ST05
        -- each cast once: the limit keeps PostgreSQL from inlining the casts
        -- into every expression that uses them (cast_error_columns)
        select
            {{ typed_column(casts, 'job_id') }},
            {{ typed_column(casts, 'customer_id') }},
            {{ typed_column(casts, 'location_id') }},
            {{ typed_column(casts, 'business_unit_id') }},
            {{ typed_column(casts, 'sold_by_technician_id') }},
            {{ typed_column(casts, 'subtotal') }},
            {{ typed_column(casts, 'tax') }},
            {{ typed_column(casts, 'is_recommended') }},
            {{ typed_column(casts, 'is_change_order') }},
            {{ typed_column(casts, 'sold_at') }},
            {{ typed_column(casts, 'created_at') }},
            {{ typed_column(casts, 'is_active') }},
            {{ typed_column(casts, 'modified_at') }}
        limit all  -- noqa: AM09
    ) as typed

)

select * from renamed
