{%- set casts = {
    'job_id': ['record.job ->> \'id\'', 'bigint', 'latest.job_id'],
    'customer_id': ['record.customer ->> \'id\'', 'bigint', 'latest.customer_id'],
    'location_id': ['record.location ->> \'id\'', 'bigint'],
    'business_unit_id': ['record."businessUnit" ->> \'id\'', 'bigint'],
    'adjustment_to_invoice_id': ['record."adjustmentToId"', 'bigint'],
    'sub_total': ['record."subTotal"', 'numeric'],
    'sales_tax': ['record."salesTax"', 'numeric'],
    'total': ['record.total', 'numeric'],
    'balance': ['record.balance', 'numeric'],
    'discount_total': ['record."discountTotal"', 'numeric'],
    'invoiced_at': ['record."invoiceDate"', 'timestamptz'],
    'due_at': ['record."dueDate"', 'timestamptz'],
    'paid_at': ['record."paidOn"', 'timestamptz'],
    'created_at': ['record."createdOn"', 'timestamptz'],
    'is_active': ['record.active', 'boolean', 'latest.active'],
    'modified_at': ['record."modifiedOn"', 'timestamptz', 'latest.modified_on'],
} -%}

with

latest as (

    {{ latest_version('servicetitan', 'st_invoices') }}

),

renamed as (

    select
        ---------- ids
        latest.tenant_id || '-' || latest.st_id as invoice_key,
        latest.tenant_id,
        latest.st_id as invoice_id,
        typed.job_id,
        typed.customer_id,
        typed.location_id,
        typed.business_unit_id,
        typed.adjustment_to_invoice_id,

        ---------- strings
        record."referenceNumber" as reference_number,
        record.job ->> 'number' as job_number,
        record."invoiceType" as invoice_type,
        record."syncStatus" as sync_status,
        record."reviewStatus" as review_status,
        record."sentStatus" as sent_status,
        record."businessUnit" ->> 'name' as business_unit_name,
        record.summary,

        ---------- numerics
        typed.sub_total,
        typed.sales_tax,
        typed.total,
        typed.balance,
        typed.discount_total,

        ---------- booleans
        {{ servicetitan_is_active() }} as is_active,
        latest.is_deleted,
        {{ cast_error_columns(casts) }} is not null as has_type_errors,

        ---------- lists and nested records
        record.items,

        ---------- timestamps (UTC)
        typed.created_at,
        typed.invoiced_at,
        typed.due_at,
        typed.paid_at,
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
            job jsonb,
            customer jsonb,
            location jsonb,
            "businessUnit" jsonb,
            "adjustmentToId" text,
            "referenceNumber" text,
            "invoiceType" text,
            "syncStatus" text,
            "reviewStatus" text,
            "sentStatus" text,
            summary text,
            "subTotal" text,
            "salesTax" text,
            total text,
            balance text,
            "discountTotal" text,
            items jsonb,
            "invoiceDate" text,
            "dueDate" text,
            "paidOn" text,
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
            {{ typed_column(casts, 'adjustment_to_invoice_id') }},
            {{ typed_column(casts, 'sub_total') }},
            {{ typed_column(casts, 'sales_tax') }},
            {{ typed_column(casts, 'total') }},
            {{ typed_column(casts, 'balance') }},
            {{ typed_column(casts, 'discount_total') }},
            {{ typed_column(casts, 'invoiced_at') }},
            {{ typed_column(casts, 'due_at') }},
            {{ typed_column(casts, 'paid_at') }},
            {{ typed_column(casts, 'created_at') }},
            {{ typed_column(casts, 'is_active') }},
            {{ typed_column(casts, 'modified_at') }}
        limit all  -- noqa: AM09
    ) as typed

)

select * from renamed
