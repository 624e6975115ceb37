{%- set casts = {
    'customer_id': ['record."customerId"', 'bigint', 'latest.customer_id'],
    'location_id': ['record."locationId"', 'bigint', 'latest.location_id'],
    'business_unit_id': ['record."businessUnitId"', 'bigint', 'latest.business_unit_id'],
    'job_type_id': ['record."jobTypeId"', 'bigint', 'latest.job_type_id'],
    'campaign_id': ['record."campaignId"', 'bigint', 'latest.campaign_id'],
    'lead_call_id': ['record."leadCallId"', 'bigint'],
    'sold_by_technician_id': ['record."soldById"', 'bigint'],
    'invoice_id': ['record."invoiceId"', 'bigint'],
    'recall_for_job_id': ['record."recallForId"', 'bigint'],
    'created_from_estimate_id': ['record."createdFromEstimateId"', 'bigint'],
    'first_appointment_id': ['record."firstAppointmentId"', 'bigint'],
    'last_appointment_id': ['record."lastAppointmentId"', 'bigint'],
    'created_by_employee_id': ['record."createdById"', 'bigint'],
    'total': ['record.total', 'numeric'],
    'appointment_count': ['record."appointmentCount"', 'integer'],
    'is_no_charge': ['record."noCharge"', 'boolean'],
    'completed_at': ['record."completedOn"', 'timestamptz', 'latest.completed_on'],
    'created_at': ['record."createdOn"', 'timestamptz', 'latest.created_on'],
    'is_active': ['record.active', 'boolean', 'latest.active'],
    'modified_at': ['record."modifiedOn"', 'timestamptz', 'latest.modified_on'],
} -%}

with

latest as (

    {{ latest_version('servicetitan', 'st_jobs') }}

),

renamed as (

    select
        ---------- ids
        latest.tenant_id || '-' || latest.st_id as job_key,
        latest.tenant_id,
        latest.st_id as job_id,
        typed.customer_id,
        typed.location_id,
        typed.business_unit_id,
        typed.job_type_id,
        typed.campaign_id,
        typed.lead_call_id,
        typed.sold_by_technician_id,
        typed.invoice_id,
        typed.recall_for_job_id,
        typed.created_from_estimate_id,
        typed.first_appointment_id,
        typed.last_appointment_id,
        typed.created_by_employee_id,

        ---------- strings
        record."jobNumber" as job_number,
        record."jobStatus" as job_status,
        record.priority,
        record.summary,
        record."customerPo" as customer_po,

        ---------- numerics
        typed.total,
        typed.appointment_count,

        ---------- booleans
        typed.is_no_charge,
        {{ servicetitan_is_active() }} as is_active,
        latest.is_deleted,
        {{ cast_error_columns(casts) }} is not null as has_type_errors,

        ---------- lists and nested records
        record."estimateIds" as estimate_ids,
        record."tagTypeIds" as tag_type_ids,
        record."customFields" as custom_fields,

        ---------- timestamps (UTC)
        typed.created_at,
        typed.completed_at,
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
            "locationId" text,
            "businessUnitId" text,
            "jobTypeId" text,
            "campaignId" text,
            "leadCallId" text,
            "soldById" text,
            "invoiceId" text,
            "recallForId" text,
            "createdFromEstimateId" text,
            "firstAppointmentId" text,
            "lastAppointmentId" text,
            "createdById" text,
            "jobNumber" text,
            "jobStatus" text,
            priority text,
            summary text,
            "customerPo" text,
            total text,
            "appointmentCount" text,
            "noCharge" text,
            "estimateIds" jsonb,
            "tagTypeIds" jsonb,
            "customFields" jsonb,
            "completedOn" text,
            "createdOn" text
        )
    cross join lateral (  -- noqa: ST05
        -- each cast once: the limit keeps PostgreSQL from inlining the casts
        -- into every expression that uses them (cast_error_columns)
        select
            {{ typed_column(casts, 'customer_id') }},
            {{ typed_column(casts, 'location_id') }},
            {{ typed_column(casts, 'business_unit_id') }},
            {{ typed_column(casts, 'job_type_id') }},
            {{ typed_column(casts, 'campaign_id') }},
            {{ typed_column(casts, 'lead_call_id') }},
            {{ typed_column(casts, 'sold_by_technician_id') }},
            {{ typed_column(casts, 'invoice_id') }},
            {{ typed_column(casts, 'recall_for_job_id') }},
            {{ typed_column(casts, 'created_from_estimate_id') }},
            {{ typed_column(casts, 'first_appointment_id') }},
            {{ typed_column(casts, 'last_appointment_id') }},
            {{ typed_column(casts, 'created_by_employee_id') }},
            {{ typed_column(casts, 'total') }},
            {{ typed_column(casts, 'appointment_count') }},
            {{ typed_column(casts, 'is_no_charge') }},
            {{ typed_column(casts, 'completed_at') }},
            {{ typed_column(casts, 'created_at') }},
            {{ typed_column(casts, 'is_active') }},
            {{ typed_column(casts, 'modified_at') }}
        limit all  -- noqa: AM09
    ) as typed

)

select * from renamed
