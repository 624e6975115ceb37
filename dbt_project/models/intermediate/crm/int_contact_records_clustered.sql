{#- Exact matching: records that share a normalised phone or email belong to the
    same person, transitively (a GoHighLevel duplicate holding only the email
    joins the customer through the contact that holds both). An identifier found
    on more than `crm_max_records_per_identifier` records (an office line,
    "noemail@…") identifies nobody and is ignored. -#}
{%- set max_records = var('crm_max_records_per_identifier', 20) -%}

with recursive

records as (

    select * from {{ ref('int_contact_records_unioned') }}

),

identifiers as (

    select
        records.record_key,
        'phone' as identifier_kind,
        phone.value as identifier_value
    from records
    cross join lateral unnest(records.phones) as phone (value)

    union all

    select
        records.record_key,
        'email' as identifier_kind,
        email.value as identifier_value
    from records
    cross join lateral unnest(records.emails) as email (value)

),

identifying as (

    select
        identifiers.record_key,
        identifiers.identifier_kind,
        identifiers.identifier_value
    from identifiers
    where
        (identifiers.identifier_kind, identifiers.identifier_value) in (
            select
                shared.identifier_kind,
                shared.identifier_value
            from identifiers as shared
            group by 1, 2
            having count(distinct shared.record_key) <= {{ max_records }}
        )

),

edges as (

    select
        identifying.record_key as from_key,
        other.record_key as to_key,
        bool_or(identifying.identifier_kind = 'phone') as shares_phone,
        bool_or(identifying.identifier_kind = 'email') as shares_email
    from identifying
    inner join identifying as other
        on
            identifying.identifier_kind = other.identifier_kind
            and identifying.identifier_value = other.identifier_value
            and identifying.record_key <> other.record_key
    group by 1, 2

),

reachable (record_key, reachable_key) as (

    select
        records.record_key,
        records.record_key as reachable_key
    from records

    union

    select
        reachable.record_key,
        edges.to_key as reachable_key
    from reachable
    inner join edges
        on reachable.reachable_key = edges.from_key

),

clusters as (

    select
        reachable.record_key,
        min(reachable.reachable_key) as cluster_key
    from reachable
    group by 1

),

strongest_edge as (

    -- how each record is tied to the rest of its cluster: both identifiers beat
    -- a phone, a phone beats an email
    select
        edges.from_key as record_key,
        edges.to_key as matched_record_key,
        case
            when
                edges.shares_phone and edges.shares_email
                then 'phone_and_email'
            when edges.shares_phone then 'phone'
            else 'email'
        end as exact_rule,
        row_number() over (
            partition by edges.from_key
            order by
                (edges.shares_phone and edges.shares_email) desc,
                edges.shares_phone desc,
                edges.to_key asc
        ) as edge_rank
    from edges

),

final as (

    select
        clusters.record_key,
        clusters.cluster_key,
        strongest_edge.matched_record_key,
        strongest_edge.exact_rule
    from clusters
    left join strongest_edge
        on
            clusters.record_key = strongest_edge.record_key
            and strongest_edge.edge_rank = 1

)

select * from final
