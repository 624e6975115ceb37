{#-
    The latest version of every ServiceTitan record in a raw table. Raw keeps one row per
    version (insert-only on tenant, id and content hash); the latest is the one ServiceTitan
    modified last, and among versions with the same modifiedOn (a tombstone written when the
    vendor stopped returning a record keeps the record's modifiedOn) the one loaded last.
    content_hash only breaks exact ties, so the choice is deterministic.

    Filters on tenant_id and st_id of the caller are pushed into this query by PostgreSQL,
    so incremental models can look up single records through the staging view.
-#}
{% macro servicetitan_latest_version(relation) -%}
    select distinct on ({{ relation }}.tenant_id, {{ relation }}.st_id) {{ relation }}.*
    from {{ relation }}
    order by
        {{ relation }}.tenant_id asc,
        {{ relation }}.st_id asc,
        {{ relation }}.modified_on desc nulls last,
        {{ relation }}._dlt_load_id desc,
        {{ relation }}.content_hash desc
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
    string; a value that does not convert is null and flags the row (has_cast_errors).
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
        ) as has_cast_errors,
        typed.applied_at,
        {{ payments }}._dlt_load_id
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
