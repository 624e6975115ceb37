{#- The pairs the matching is unsure of, for a person to decide (insert
    'same' or 'different' into crm.contact_match_reviews): a ServiceTitan
    customer and a GoHighLevel contact whose match weight lies between
    `crm_match_review_weight` and `crm_match_link_weight`, or above it with
    first names that share nothing (two people of one household, or one person
    under two names), where the contact has no customer yet and nobody has
    decided. Both records side by side, the strongest pairs first. A view: it
    is read now and then by people, never by the builds. -#}
{{ config(materialized='view') }}
{%- set link_weight = var('crm_match_link_weight', 12) -%}

with

pairs as (

    select * from {{ ref('int_contact_match_pairs') }}
    where ghl_record_key is not null

),

decisions as (

    select * from {{ ref('stg_crm_editable__contact_match_reviews') }}

),

records as (

    select * from {{ ref('int_contact_records_unioned') }}

),

links as (

    select * from {{ ref('contact_links') }}

),

undecided as (

    select pairs.*
    from pairs
    where
        (pairs.match_weight < {{ link_weight }} or pairs.first_names_differ)
        and not exists (
            select
            from decisions as decided
            where
                decided.st_record_key = pairs.st_record_key
                and decided.ghl_record_key = pairs.ghl_record_key
        )
        -- a contact already joined to a customer is not the model's to move
        and not exists (
            select
            from links as ghl_link
            inner join links as st_link
                on
                    ghl_link.contact_id = st_link.contact_id
                    and st_link.source_system = 'servicetitan'
            where ghl_link.link_id = pairs.ghl_record_key
        )

),

final as (

    select
        ---------- ids
        undecided.st_record_key,
        undecided.ghl_record_key,

        ---------- the weighing
        undecided.match_weight,
        undecided.first_names_differ,
        undecided.names_swapped,
        undecided.contributions,

        ---------- side by side
        st.full_name as st_name,
        ghl.full_name as ghl_name,
        st.company_name as st_company,
        ghl.company_name as ghl_company,
        st.street as st_street,
        ghl.street as ghl_street,
        st.unit as st_unit,
        st.city as st_city,
        ghl.city as ghl_city,
        st.zip as st_zip,
        ghl.zip as ghl_zip,
        st.phones as st_phones,
        ghl.phones as ghl_phones,
        st.emails as st_emails,
        ghl.emails as ghl_emails,
        st.created_at as st_created_at,
        ghl.created_at as ghl_created_at

    from undecided
    inner join records as st
        on undecided.st_record_key = st.record_key
    inner join records as ghl
        on undecided.ghl_record_key = ghl.record_key

)

select * from final
