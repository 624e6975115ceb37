{%- set casts = {
    'location_id': ['record."locationId"', 'bigint', 'latest.location_id'],
    'customer_id': ['record."customerId"', 'bigint', 'latest.customer_id'],
    'pricebook_equipment_id': ['record."equipmentId"', 'bigint'],
    'invoice_item_id': ['record."invoiceItemId"', 'bigint'],
    'cost': ['record.cost', 'numeric'],
    'predicted_replacement_months': ['record."predictedReplacementMonths"', 'integer'],
    'installed_at': ['record."installedOn"', 'timestamptz'],
    'manufacturer_warranty_starts_at': ['record."manufacturerWarrantyStart"', 'timestamptz'],
    'manufacturer_warranty_ends_at': ['record."manufacturerWarrantyEnd"', 'timestamptz'],
    'service_provider_warranty_starts_at': ['record."serviceProviderWarrantyStart"', 'timestamptz'],
    'service_provider_warranty_ends_at': ['record."serviceProviderWarrantyEnd"', 'timestamptz'],
    'created_at': ['record."createdOn"', 'timestamptz'],
    'is_active': ['record.active', 'boolean', 'latest.active'],
    'modified_at': ['record."modifiedOn"', 'timestamptz', 'latest.modified_on'],
} -%}

with

latest as (

    {{ latest_version('servicetitan', 'st_installed_equipment') }}

),

renamed as (

    select
        ---------- ids
        latest.tenant_id || '-' || latest.st_id as installed_equipment_key,
        latest.tenant_id,
        latest.st_id as installed_equipment_id,
        typed.location_id,
        typed.customer_id,
        typed.pricebook_equipment_id,
        typed.invoice_item_id,

        ---------- strings
        record.name as equipment_name,
        record.type as equipment_type,
        record.manufacturer,
        record.model as model_number,
        record."serialNumber" as serial_number,
        record.status as equipment_status,
        record.memo,

        ---------- numerics
        typed.cost,
        typed.predicted_replacement_months,

        ---------- booleans
        {{ servicetitan_is_active() }} as is_active,
        latest.is_deleted,
        {{ cast_error_columns(casts) }} is not null as has_type_errors,

        ---------- lists and nested records
        record.tags,

        ---------- timestamps (UTC)
        typed.created_at,
        typed.installed_at,
        typed.manufacturer_warranty_starts_at,
        typed.manufacturer_warranty_ends_at,
        typed.service_provider_warranty_starts_at,
        typed.service_provider_warranty_ends_at,
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
            "locationId" text,
            "customerId" text,
            "equipmentId" text,
            "invoiceItemId" text,
            name text,
            type text,
            manufacturer text,
            model text,
            "serialNumber" text,
            status text,
            memo text,
            cost text,
            "predictedReplacementMonths" text,
            tags jsonb,
            "installedOn" text,
            "manufacturerWarrantyStart" text,
            "manufacturerWarrantyEnd" text,
            "serviceProviderWarrantyStart" text,
            "serviceProviderWarrantyEnd" text,
            "createdOn" text
        )
    cross join lateral (  -- noqa: ST05
        -- each cast once: the limit keeps PostgreSQL from inlining the casts
        -- into every expression that uses them (cast_error_columns)
        select
            {{ typed_column(casts, 'location_id') }},
            {{ typed_column(casts, 'customer_id') }},
            {{ typed_column(casts, 'pricebook_equipment_id') }},
            {{ typed_column(casts, 'invoice_item_id') }},
            {{ typed_column(casts, 'cost') }},
            {{ typed_column(casts, 'predicted_replacement_months') }},
            {{ typed_column(casts, 'installed_at') }},
            {{ typed_column(casts, 'manufacturer_warranty_starts_at') }},
            {{ typed_column(casts, 'manufacturer_warranty_ends_at') }},
            {{ typed_column(casts, 'service_provider_warranty_starts_at') }},
            {{ typed_column(casts, 'service_provider_warranty_ends_at') }},
            {{ typed_column(casts, 'created_at') }},
            {{ typed_column(casts, 'is_active') }},
            {{ typed_column(casts, 'modified_at') }}
        limit all  -- noqa: AM09
    ) as typed

)

select * from renamed
