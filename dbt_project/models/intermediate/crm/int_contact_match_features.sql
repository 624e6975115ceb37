{#- What the probabilistic matching compares of each contact record, and the
    blocking keys that decide which records are compared at all: names split,
    normalised and coded (double metaphone), the nicknames a first name can
    stand for, the address taken apart. One row per record.

    Blocking passes (a pair is scored when any one key agrees, so that one
    corrupted field does not hide it; every key is narrow enough that a block
    holds a handful of records at 1,000,000 customers): ZIP + house number;
    ZIP + last-name code; both name codes (in either order: swapped first and
    last names) + house number; both name codes + ZIP; both name codes + city;
    house number + street code; company code + ZIP. Pairs sharing a phone or an
    email are the exact matching's (int_contact_records_matched).

    Incremental (delete+insert on record_key): a run redoes the records
    int_contact_records_unioned wrote since this table's newest batch_at. -#}
{{
    config(
        materialized='incremental',
        unique_key='record_key',
        incremental_strategy='delete+insert',
    )
}}

{#- the unit of "12 Oak St Apt 5" / "#5" / "Suite 100" -#}
{%- set unit_pattern =
    "'(?i)(?:\\m(?:apt|apartment|unit|suite|ste)\\M\\.?|#)\\s*([a-z0-9-]+)'" -%}

with

records as (

    select * from {{ ref('int_contact_records_unioned') }}
    {% if is_incremental() %}
        where batch_at > {{ watermark('batch_at', 'timestamptz') }}
    {% endif %}

),

nicknames as (

    select * from {{ ref('crm_nicknames') }}

),

names as (

    select
        records.record_key,
        records.source_system,
        -- the first word of the first name; the last name without suffixes
        -- and spaces ("De La Cruz Jr." -> "delacruz")
        split_part({{ crm_normalize_name('records.first_name') }}, ' ', 1)
            as first_name,
        nullif(
            replace(
                regexp_replace(
                    coalesce({{ crm_normalize_name('records.last_name') }}, ''),
                    '\m(jr|sr|ii|iii|iv)\M',
                    '',
                    'g'
                ),
                ' ',
                ''
            ),
            ''
        ) as last_name,
        {{ crm_normalize_name('records.company_name') }} as company_name,
        records.house_number,
        nullif(
            btrim(
                regexp_replace(
                    coalesce(records.street_normalized, ''),
                    '^[0-9]+[a-z]?( |$)',
                    ''
                )
            ),
            ''
        ) as street_name,
        nullif(
            lower(
                coalesce(
                    records.unit,
                    substring(
                        records.street
                        from {{ unit_pattern }}
                    )
                )
            ),
            ''
        ) as unit,
        {{ crm_normalize_name('records.city') }} as city,
        nullif(records.zip, '') as zip,
        records.phones,
        records.emails
    from records

),

coded as (

    select
        names.*,
        nullif(dmetaphone(names.first_name), '') as first_code,
        nullif(dmetaphone(names.last_name), '') as last_code,
        nullif(dmetaphone(names.company_name), '') as company_code,
        nullif(dmetaphone(names.street_name), '') as street_code,
        -- the name itself and every full name it is a nickname of (or, for a
        -- full name, itself): two first names are nicknames of one another when
        -- these overlap
        array(
            select forms.form_name
            from (
                select names.first_name as form_name
                where names.first_name is not null
                union
                select nicknames.canonical_name as form_name
                from nicknames
                where nicknames.nickname = names.first_name
            ) as forms
            order by 1
        ) as first_name_forms,
        -- the same of the last name, for a contact whose names were swapped
        array(
            select forms.form_name
            from (
                select names.last_name as form_name
                where names.last_name is not null
                union
                select nicknames.canonical_name as form_name
                from nicknames
                where nicknames.nickname = names.last_name
            ) as forms
            order by 1
        ) as last_name_forms
    from names

),

final as (

    select
        coded.*,
        array_remove(
            array[
                'zh|' || coded.zip || '|' || coded.house_number,
                'zl|' || coded.zip || '|' || coded.last_code,
                'nh|' || least(coded.first_code, coded.last_code) || '|'
                || greatest(coded.first_code, coded.last_code) || '|'
                || coded.house_number,
                'nz|' || least(coded.first_code, coded.last_code) || '|'
                || greatest(coded.first_code, coded.last_code) || '|'
                || coded.zip,
                'nc|' || least(coded.first_code, coded.last_code) || '|'
                || greatest(coded.first_code, coded.last_code) || '|'
                || coded.city,
                'hs|' || coded.house_number || '|' || coded.street_code,
                'cz|' || coded.company_code || '|' || coded.zip
            ],
            null
        ) as block_keys,
        {{ run_batch_at() }} as batch_at
    from coded

)

select * from final
