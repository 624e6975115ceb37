{%- set casts = {
    'category_id': ['record.category ->> \'id\'', 'bigint', 'latest.category_id'],
    'business_unit_id': ['record."businessUnit" ->> \'id\'', 'bigint'],
    'is_default_campaign': ['record."isDefaultCampaign"', 'boolean'],
    'created_at': ['record."createdOn"', 'timestamptz'],
    'is_active': ['record.active', 'boolean', 'latest.active'],
    'modified_at': ['record."modifiedOn"', 'timestamptz', 'latest.modified_on'],
} -%}

with

latest as (

    {{ latest_version('servicetitan', 'st_campaigns') }}

),

renamed as (

    select
        ---------- ids
        latest.tenant_id || '-' || latest.st_id as campaign_key,
        latest.tenant_id,
        latest.st_id as campaign_id,
        typed.category_id,
        typed.business_unit_id,

        ---------- strings
        record.name as campaign_name,
        record.code as campaign_code,
        record.category ->> 'name' as category_name,
        record.source as campaign_source,
        record.medium as campaign_medium,
        record."otherSource" as other_source,
        record."otherMedium" as other_medium,

        ---------- booleans
        typed.is_default_campaign,
        {{ servicetitan_is_active() }} as is_active,
        latest.is_deleted,
        {{ cast_error_columns(casts) }} is not null as has_type_errors,

        ---------- lists and nested records
        record."campaignPhoneNumbers" as campaign_phone_numbers,
        {{ crm_jsonb_phone_array('record."campaignPhoneNumbers"') }}
            as tracking_phone_numbers,

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
            category jsonb,
            "businessUnit" jsonb,
            name text,
            code text,
            source text,
            medium text,
            "otherSource" text,
            "otherMedium" text,
            "isDefaultCampaign" text,
            "campaignPhoneNumbers" jsonb,
            "createdOn" text
        )
    cross join lateral (  -- noqa: ST05
        -- each cast once: the limit keeps PostgreSQL from inlining the casts
        -- into every expression that uses them (cast_error_columns)
        select
            {{ typed_column(casts, 'category_id') }},
            {{ typed_column(casts, 'business_unit_id') }},
            {{ typed_column(casts, 'is_default_campaign') }},
            {{ typed_column(casts, 'created_at') }},
            {{ typed_column(casts, 'is_active') }},
            {{ typed_column(casts, 'modified_at') }}
        limit all  -- noqa: AM09
    ) as typed

)

select * from renamed
