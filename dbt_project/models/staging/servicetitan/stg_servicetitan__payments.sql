{%- set casts = {
    'customer_id': ['record.customer ->> \'id\'', 'bigint', 'latest.customer_id'],
    'business_unit_id': ['record."businessUnit" ->> \'id\'', 'bigint'],
    'refunded_payment_id': ['record."refundedPaymentId"', 'bigint'],
    'payment_type_id': ['record."typeId"', 'bigint'],
    'total': ['record.total', 'numeric'],
    'unapplied_amount': ['record."unappliedAmount"', 'numeric'],
    'paid_at': ['record.date', 'timestamptz'],
    'created_at': ['record."createdOn"', 'timestamptz'],
    'is_active': ['record.active', 'boolean', 'latest.active'],
    'modified_at': ['record."modifiedOn"', 'timestamptz', 'latest.modified_on'],
} -%}

with

latest as (

    {{ latest_version('servicetitan', 'st_payments') }}

),

renamed as (

    select
        ---------- ids
        latest.tenant_id || '-' || latest.st_id as payment_key,
        latest.tenant_id,
        latest.st_id as payment_id,
        typed.customer_id,
        typed.business_unit_id,
        typed.refunded_payment_id,
        typed.payment_type_id,

        ---------- strings
        record.type as payment_type,
        record."referenceNumber" as reference_number,
        record.memo,
        record."syncStatus" as sync_status,
        record."authCode" as auth_code,
        record."checkNumber" as check_number,

        ---------- numerics
        typed.total,
        typed.unapplied_amount,

        ---------- booleans
        {{ servicetitan_is_active() }} as is_active,
        latest.is_deleted,
        {{ cast_error_columns(casts) }} is not null as has_type_errors,

        ---------- lists and nested records
        record."appliedTo" as applied_to,

        ---------- timestamps (UTC)
        typed.created_at,
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
            customer jsonb,
            "businessUnit" jsonb,
            "refundedPaymentId" text,
            "typeId" text,
            type text,
            "referenceNumber" text,
            memo text,
            "syncStatus" text,
            "authCode" text,
            "checkNumber" text,
            total text,
            "unappliedAmount" text,
            "appliedTo" jsonb,
            date text,
            "createdOn" text
        )
    cross join lateral (  -- noqa: ST05
        -- each cast once: the limit keeps PostgreSQL from inlining the casts
        -- into every expression that uses them (cast_error_columns)
        select
            {{ typed_column(casts, 'customer_id') }},
            {{ typed_column(casts, 'business_unit_id') }},
            {{ typed_column(casts, 'refunded_payment_id') }},
            {{ typed_column(casts, 'payment_type_id') }},
            {{ typed_column(casts, 'total') }},
            {{ typed_column(casts, 'unapplied_amount') }},
            {{ typed_column(casts, 'paid_at') }},
            {{ typed_column(casts, 'created_at') }},
            {{ typed_column(casts, 'is_active') }},
            {{ typed_column(casts, 'modified_at') }}
        limit all  -- noqa: AM09
    ) as typed

)

select * from renamed
