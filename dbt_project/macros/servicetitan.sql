{#-
    is_active of a ServiceTitan record: a record that does not say is active (some lists omit
    the field); a value that could not be typed stays null, flagged in has_type_errors, never
    defaulted to active. Reads the staging model's `record` (the JSON) and `typed` (its casts).
-#}
{% macro servicetitan_is_active() -%}
    case when record.active is null then true else typed.is_active end
{%- endmacro %}

{#-
    One typed column of a staging model. casts[name] = [source text expression, type] casts the
    JSON text safely; [source text expression, type, raw column] takes the column dlt already
    typed in raw (ids, timestamps, flags; the same values change capture reads).
-#}
{% macro typed_column(casts, name) -%}
    {%- if name not in casts -%}
        {{ exceptions.raise_compiler_error("typed_column: '" ~ name ~ "' is not in casts") }}
    {%- endif -%}
    {%- set spec = casts[name] -%}
    {%- if spec | length > 2 -%}
        {{ spec[2] }} as {{ name }}
    {%- else -%}
        {{ try_cast(spec[0], spec[1]) }} as {{ name }}
    {%- endif -%}
{%- endmacro %}

{#-
    One row per application of a payment to an invoice (ServiceTitan's payment.appliedTo[]),
    from a relation shaped like stg_servicetitan__payments. The applied amount is a decimal
    string; a value that does not convert is null and flags the row (has_type_errors).
-#}
{% macro servicetitan_payment_applications(payments) -%}
    select
        {{ payments }}.tenant_id || '-' || {{ payments }}.payment_id || '-'
        || application.position as payment_application_key,
        {{ payments }}.tenant_id,
        {{ payments }}.payment_id,
        typed.invoice_id,
        application.value ->> 'appliedToReferenceNumber' as invoice_reference_number,
        application.position::integer as application_number,
        typed.applied_amount,
        {{ payments }}.is_active as is_payment_active,
        {{ payments }}.is_deleted as is_payment_deleted,
        (
            (application.value ->> 'appliedTo' is not null and typed.invoice_id is null)
            or (
                application.value ->> 'appliedAmount' is not null
                and typed.applied_amount is null
            )
            or (application.value ->> 'appliedOn' is not null and typed.applied_at is null)
        ) as has_type_errors,
        typed.applied_at,
        {{ payments }}.dlt_load_id
    from {{ payments }}
    cross join lateral jsonb_array_elements(
        case
            when jsonb_typeof({{ payments }}.applied_to) = 'array'
                then {{ payments }}.applied_to
            else '[]'::jsonb
        end
    ) with ordinality as application (value, position)
    cross join lateral (  -- noqa: ST05
        select
            {{ try_cast("application.value ->> 'appliedTo'", 'bigint') }} as invoice_id,
            {{ try_cast("application.value ->> 'appliedAmount'", 'numeric') }}
                as applied_amount,
            {{ try_cast("application.value ->> 'appliedOn'", 'timestamptz') }}
                as applied_at
        limit all  -- noqa: AM09
    ) as typed
{%- endmacro %}

{#-
    A staging model of one of ServiceTitan's three custom field type lists (customer,
    location, job): the same record shape, keyed by the entity's name.
-#}
{% macro servicetitan_custom_field_types(entity) -%}
{%- set casts = {
    'created_at': ['record."createdOn"', 'timestamptz'],
    'is_active': ['record.active', 'boolean', 'latest.active'],
    'modified_at': ['record."modifiedOn"', 'timestamptz', 'latest.modified_on'],
} -%}

with

latest as (

    {{ latest_version('servicetitan', 'st_' ~ entity ~ '_custom_field_types') }}

),

renamed as (

    select
        ---------- ids
        latest.tenant_id
        || '-'
        || latest.st_id as {{ entity }}_custom_field_type_key,
        latest.tenant_id,
        latest.st_id as {{ entity }}_custom_field_type_id,

        ---------- strings
        record.name as field_name,
        record."dataType" as data_type,

        ---------- booleans
        {{ servicetitan_is_active() }} as is_active,
        latest.is_deleted,
        {{ cast_error_columns(casts) }} is not null as has_type_errors,

        ---------- lists and nested records
        record."dataTypeOptions" as data_type_options,

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
            name text,
            "dataType" text,
            "dataTypeOptions" jsonb,
            "createdOn" text
        )
    cross join lateral (  -- noqa: ST05
        -- each cast once: the limit keeps PostgreSQL from inlining the casts
        -- into every expression that uses them (cast_error_columns)
        select
            {{ typed_column(casts, 'created_at') }},
            {{ typed_column(casts, 'is_active') }},
            {{ typed_column(casts, 'modified_at') }}
        limit all  -- noqa: AM09
    ) as typed

)

select * from renamed
{%- endmacro %}

{#-
    A staging model of ServiceTitan's customer or location contacts (phones and emails):
    the same record shape, owned by a customer or by a location.
-#}
{% macro servicetitan_contacts(entity) -%}
{%- set casts = {
    entity ~ '_id': ['record."' ~ entity ~ 'Id"', 'bigint', 'latest.' ~ entity ~ '_id'],
    'is_do_not_text': ['record."phoneSettings" ->> \'doNotText\'', 'boolean'],
    'created_at': ['record."createdOn"', 'timestamptz'],
    'is_active': ['record.active', 'boolean', 'latest.active'],
    'modified_at': ['record."modifiedOn"', 'timestamptz', 'latest.modified_on'],
} -%}

with

latest as (

    {{ latest_version('servicetitan', 'st_' ~ entity ~ '_contacts') }}

),

renamed as (

    select
        ---------- ids
        latest.tenant_id || '-' || latest.st_id as {{ entity }}_contact_key,
        latest.tenant_id,
        latest.st_id as {{ entity }}_contact_id,
        typed.{{ entity }}_id,

        ---------- strings
        record.type as contact_type,
        record.value as contact_value,
        record.memo,
        case
            when
                record.type <> 'Email'
                then {{ crm_normalize_phone('record.value') }}
        end
            as phone_normalized,
        case
            when
                record.type = 'Email'
                then {{ crm_normalize_email('record.value') }}
        end
            as email_normalized,

        ---------- booleans
        coalesce(record.type <> 'Email', false) as is_phone,
        coalesce(record.type = 'Email', false) as is_email,
        typed.is_do_not_text,
        {{ servicetitan_is_active() }} as is_active,
        latest.is_deleted,
        {{ cast_error_columns(casts) }} is not null as has_type_errors,

        ---------- lists and nested records
        record.preferences,

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
            "{{ entity }}Id" text,
            type text,
            value text,
            memo text,
            "phoneSettings" jsonb,
            preferences jsonb,
            "createdOn" text
        )
    cross join lateral (  -- noqa: ST05
        -- each cast once: the limit keeps PostgreSQL from inlining the casts
        -- into every expression that uses them (cast_error_columns)
        select
            {{ typed_column(casts, entity ~ '_id') }},
            {{ typed_column(casts, 'is_do_not_text') }},
            {{ typed_column(casts, 'created_at') }},
            {{ typed_column(casts, 'is_active') }},
            {{ typed_column(casts, 'modified_at') }}
        limit all  -- noqa: AM09
    ) as typed

)

select * from renamed
{%- endmacro %}

{#-
    Every version (any load) of the records in `changed` (a CTE of entity, tenant_id,
    record_id): the parents a changed record points at now and pointed at before. Looked up
    record by record through raw's (tenant, id) index.
-#}
{% macro servicetitan_all_versions_of(changed) -%}
    select versions.*
    from {{ changed }}
    cross join lateral (
        select
            record_versions.entity,
            record_versions.tenant_id,
            record_versions.record_id,
            record_versions.customer_id,
            record_versions.job_id,
            record_versions.invoice_id,
            record_versions.technician_id,
            record_versions.job_type_id
        from {{ ref('stg_servicetitan__record_versions') }} as record_versions
        where
            record_versions.entity = {{ changed }}.entity
            and record_versions.tenant_id = {{ changed }}.tenant_id
            and record_versions.record_id = {{ changed }}.record_id
        offset 0
    ) as versions
{%- endmacro %}
