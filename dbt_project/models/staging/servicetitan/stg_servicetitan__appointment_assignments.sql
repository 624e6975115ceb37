{%- set casts = {
    'appointment_id': ['record."appointmentId"', 'bigint', 'latest.appointment_id'],
    'job_id': ['record."jobId"', 'bigint', 'latest.job_id'],
    'technician_id': ['record."technicianId"', 'bigint', 'latest.technician_id'],
    'assigned_by_employee_id': ['record."assignedById"', 'bigint'],
    'is_paused': ['record."isPaused"', 'boolean'],
    'assigned_at': ['record."assignedOn"', 'timestamptz', 'latest.assigned_on'],
    'created_at': ['record."createdOn"', 'timestamptz'],
    'is_active': ['record.active', 'boolean', 'latest.active'],
    'modified_at': ['record."modifiedOn"', 'timestamptz', 'latest.modified_on'],
} -%}

with

latest as (

    {{ latest_version('servicetitan', 'st_appointment_assignments') }}

),

renamed as (

    select
        ---------- ids
        latest.tenant_id || '-' || latest.st_id as appointment_assignment_key,
        latest.tenant_id,
        latest.st_id as appointment_assignment_id,
        typed.appointment_id,
        typed.job_id,
        typed.technician_id,
        typed.assigned_by_employee_id,

        ---------- strings
        record."technicianName" as technician_name,
        record.status as assignment_status,

        ---------- booleans
        typed.is_paused,
        {{ servicetitan_is_active() }} as is_active,
        latest.is_deleted,
        {{ cast_error_columns(casts) }} is not null as has_type_errors,

        ---------- timestamps (UTC)
        typed.created_at,
        typed.assigned_at,
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
            "appointmentId" text,
            "jobId" text,
            "technicianId" text,
            "assignedById" text,
            "technicianName" text,
            status text,
            "isPaused" text,
            "assignedOn" text,
            "createdOn" text
        )
    cross join lateral (  -- noqa: ST05
        -- each cast once: the limit keeps PostgreSQL from inlining the casts
        -- into every expression that uses them (cast_error_columns)
        select
            {{ typed_column(casts, 'appointment_id') }},
            {{ typed_column(casts, 'job_id') }},
            {{ typed_column(casts, 'technician_id') }},
            {{ typed_column(casts, 'assigned_by_employee_id') }},
            {{ typed_column(casts, 'is_paused') }},
            {{ typed_column(casts, 'assigned_at') }},
            {{ typed_column(casts, 'created_at') }},
            {{ typed_column(casts, 'is_active') }},
            {{ typed_column(casts, 'modified_at') }}
        limit all  -- noqa: AM09
    ) as typed

)

select * from renamed
