{#- Every record's person (CRM contact), how it was matched and how sure the
    match is.

    Exact matching: records that share a normalised phone or email belong to the
    same person, transitively (a GoHighLevel duplicate holding only the email
    joins the customer through the contact that holds both). An identifier found
    on more than `crm_max_records_per_identifier` records (an office line,
    "noemail@...") identifies nobody and is ignored. Probabilistic matching: a
    cluster with no ServiceTitan customer joins the ServiceTitan cluster of the
    customer it is best paired with in int_contact_match_pairs (Fellegi-Sunter
    weights over names, address, phones and emails), when the pair's weight
    reaches `crm_match_link_weight` and its first names do not tell two people
    apart, or when a person decided the pair is one person
    (crm.contact_match_reviews); a person's "different" always keeps a pair
    apart. A contact's id is derived from its earliest record, so it survives
    new records joining it.

    Incremental (delete+insert on record_key): a run redoes the people a changed
    record can affect: the changed records, every record that shares (or shared)
    an identifier with one, both records of every pair the scoring redid and of
    every decision taken since the last run, the records paired with those, and
    the people of all of them (see touched_partners below). Of what it redid, a
    run writes the changed records and the records whose match came out
    different, so that the models downstream (which redo what this one wrote)
    redo only those. -#}
{{
    config(
        materialized='incremental',
        unique_key='record_key',
        incremental_strategy='delete+insert',
        pre_hook="{{ full_build_hints(incremental_too=true, full_build=false) }}",
    )
}}
{%- set max_records = var('crm_max_records_per_identifier', 20) -%}
{%- set link_weight = var('crm_match_link_weight', 12) -%}

-- holders of an identifier (used only by incremental runs):
-- depends_on: {{ ref('int_contact_identifiers') }}

with recursive

{% if is_incremental() %}

    -- Below, both tables are read through their indexes by key (lookup):
    -- as CTEs they would be copied whole on every run. What was read is joined
    -- by hash (the pre-hook): the planner takes each lookup for a couple of
    -- hundred rows, and a nested loop between two of them (the shared
    -- identifiers' edges) would be quadratic in the thousands they hold.

    changed as (

        select
            records_now.record_key,
            records_now.phones,
            records_now.emails
        from {{ ref('int_contact_records_unioned') }} as records_now
        where
            records_now.batch_at
            > {{ watermark('batch_at', 'timestamptz') }}

    ),

    changed_before as (

        {{ lookup(this, 'changed', ['record_key']) }}

    ),

    changed_identifiers as (

        -- what the changed records hold now and held before
        select
            'phone' as identifier_kind,
            changed_phone.value as identifier_value
        from changed
        cross join lateral unnest(changed.phones) as changed_phone (value)
        union
        select
            'email' as identifier_kind,
            changed_email.value as identifier_value
        from changed
        cross join lateral unnest(changed.emails) as changed_email (value)
        union
        select
            'phone' as identifier_kind,
            previous_phone.value as identifier_value
        from changed_before
        cross join lateral unnest(changed_before.phones) as previous_phone (value)
        union
        select
            'email' as identifier_kind,
            previous_email.value as identifier_value
        from changed_before
        cross join lateral unnest(changed_before.emails) as previous_email (value)

    ),

    touched as (

        -- the changed records and whoever shares (b-tree lookups) or shared
        -- (GIN lookups in this model's previous rows, one per identifier: one
        -- overlap (&&) with every identifier at once makes GIN test each
        -- candidate row against all of them) an identifier with them
        select changed.record_key from changed
        union
        -- both sides of the pairs the scoring redid, and of the decisions
        -- people took, since the last run (an hour back: a decision's
        -- transaction may commit after a run began)
        select rescored.st_record_key
        from {{ ref('int_contact_match_pairs') }} as rescored
        where
            rescored.batch_at > {{ watermark('batch_at', 'timestamptz') }}
        union
        select rescored.ghl_record_key
        from {{ ref('int_contact_match_pairs') }} as rescored
        where
            rescored.batch_at > {{ watermark('batch_at', 'timestamptz') }}
            and rescored.ghl_record_key is not null
        union
        select decided.st_record_key
        from {{ ref('stg_crm_editable__contact_match_reviews') }} as decided
        where
            decided.decided_at
            > {{ watermark('batch_at', 'timestamptz') }} - interval '1 hour'
        union
        select decided.ghl_record_key
        from {{ ref('stg_crm_editable__contact_match_reviews') }} as decided
        where
            decided.decided_at
            > {{ watermark('batch_at', 'timestamptz') }} - interval '1 hour'
        union
        select holders.record_key
        from (
            {{ lookup(
                ref('int_contact_identifiers'),
                'changed_identifiers',
                ['identifier_value', 'identifier_kind'],
            ) }}
        ) as holders
        {% for kind, column in [('phone', 'phones'), ('email', 'emails')] %}
            union
            select holders.record_key
            from changed_identifiers as ids
            inner join {{ this }} as holders
                on holders.{{ column }} @> array[ids.identifier_value]
            where ids.identifier_kind = '{{ kind }}'
        {% endfor %}

    ),

    -- From here on the changed people's records are read key by key through
    -- the indexes (lookup): joined whole, the planner scanned both 2 M-row
    -- tables four times (5 s of the select at 1,000,000 customers).
    --
    -- A contact without a customer of its own joins the customer it scores
    -- best with, so a touched record can move the records it is paired with
    -- (and their people), and those can move to the customers they are paired
    -- with (and those customers' people): two hops, after which only customers
    -- are reached, and a customer's person moves no further.
    touched_partners as (

        {{ crm_match_partners('touched') }}

    ),

    first_hop as (

        select touched.record_key from touched
        union
        select touched_partners.record_key from touched_partners

    ),

    first_people as (

        select people_before.*
        from (
            {{ lookup(
                this,
                '(' ~ lookup(this, 'first_hop', ['record_key']) ~ ') as hop',
                ['person_key'],
            ) }}
        ) as people_before

    ),

    second_hop as (

        select first_hop.record_key from first_hop
        union
        select first_people.record_key from first_people

    ),

    second_partners as (

        {{ crm_match_partners('second_hop') }}

    ),

    affected_people as (

        select first_people.person_key from first_people
        union
        select partners_before.person_key
        from (
            {{ lookup(this, 'second_partners', ['record_key']) }}
        ) as partners_before

    ),

    scope as (

        select people_before.record_key
        from (
            {{ lookup(this, 'affected_people', ['person_key']) }}
        ) as people_before
        union
        select second_hop.record_key from second_hop
        union
        select second_partners.record_key from second_partners

    ),

    records as (

        {{ lookup(
            ref('int_contact_records_unioned'), 'scope', ['record_key']
        ) }}

    ),

{% else %}

    records as (

        select * from {{ ref('int_contact_records_unioned') }}

    ),

{% endif %}

identifiers as (

    select
        records.record_key,
        'phone' as identifier_kind,
        record_phone.value as identifier_value
    from records
    cross join lateral unnest(records.phones) as record_phone (value)

    union all

    select
        records.record_key,
        'email' as identifier_kind,
        record_email.value as identifier_value
    from records
    cross join lateral unnest(records.emails) as record_email (value)

),

{% if is_incremental() %}

    identifier_counts as (

        -- how many records hold each identifier, over all records, counted by
        -- b-tree index (GIN lookups in the records' arrays took 10 s for the
        -- 84,000 identifiers in scope at 1,000,000 customers)
        select
            holders.identifier_kind,
            holders.identifier_value,
            count(distinct holders.record_key) as record_count
        from (
            {{ lookup(
                ref('int_contact_identifiers'),
                'identifiers',
                ['identifier_value', 'identifier_kind'],
            ) }}
        ) as holders
        group by 1, 2

    ),

{% else %}

    identifier_counts as (

        select
            identifiers.identifier_kind,
            identifiers.identifier_value,
            count(distinct identifiers.record_key) as record_count
        from identifiers
        group by 1, 2

    ),

{% endif %}

identifying as (

    select identifiers.*
    from identifiers
    inner join identifier_counts
        on
            identifiers.identifier_kind = identifier_counts.identifier_kind
            and identifiers.identifier_value
            = identifier_counts.identifier_value
    where identifier_counts.record_count <= {{ max_records }}

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

records_clustered as (

    select
        records.*,
        clusters.cluster_key,
        strongest_edge.matched_record_key,
        strongest_edge.exact_rule,
        bool_or(records.source_system = 'servicetitan')
            over (partition by clusters.cluster_key)
            as cluster_has_st_customer
    from records
    inner join clusters
        on records.record_key = clusters.record_key
    left join strongest_edge
        on
            records.record_key = strongest_edge.record_key
            and strongest_edge.edge_rank = 1

),

pairs as (

    -- the scored pairs of the contacts in scope, and people's decisions
    {% if is_incremental() %}
        {{ lookup(
            ref('int_contact_match_pairs'),
            'records',
            ['ghl_record_key'],
            ['record_key'],
        ) }}
    {% else %}
        select * from {{ ref('int_contact_match_pairs') }}
        where ghl_record_key is not null
    {% endif %}

),

decisions as (

    {% if is_incremental() %}
        {{ lookup(
            ref('stg_crm_editable__contact_match_reviews'),
            'records',
            ['ghl_record_key'],
            ['record_key'],
        ) }}
    {% else %}
        select * from {{ ref('stg_crm_editable__contact_match_reviews') }}
    {% endif %}

),

linkable as (

    -- a pair links when its weight reaches the link weight and its first
    -- names do not tell two people apart, or when a person said so; a
    -- person's "different" always wins
    select
        coalesce(pairs.st_record_key, decisions.st_record_key)
            as st_record_key,
        coalesce(pairs.ghl_record_key, decisions.ghl_record_key)
            as ghl_record_key,
        pairs.match_weight,
        pairs.contributions,
        decisions.decision = 'same' as is_reviewed
    from pairs
    full join decisions
        on
            pairs.st_record_key = decisions.st_record_key
            and pairs.ghl_record_key = decisions.ghl_record_key
    where
        decisions.decision = 'same'
        or (
            decisions.decision is null
            and pairs.match_weight >= {{ link_weight }}
            and not pairs.first_names_differ
        )

),

fuzzy_candidates as (

    select
        unmatched.cluster_key,
        unmatched.record_key,
        customers.cluster_key as st_cluster_key,
        customers.record_key as st_record_key,
        linkable.match_weight,
        linkable.contributions,
        linkable.is_reviewed
    from records_clustered as unmatched
    inner join linkable
        on unmatched.record_key = linkable.ghl_record_key
    inner join records_clustered as customers
        on linkable.st_record_key = customers.record_key
    where
        not unmatched.cluster_has_st_customer
        and customers.source_system = 'servicetitan'

),

fuzzy_ranked as (

    select
        fuzzy_candidates.*,
        row_number() over (
            partition by fuzzy_candidates.cluster_key
            order by
                fuzzy_candidates.is_reviewed desc,
                fuzzy_candidates.match_weight desc nulls last,
                fuzzy_candidates.st_record_key asc,
                fuzzy_candidates.record_key asc
        ) as candidate_rank
    from fuzzy_candidates

),

fuzzy_best as (

    -- one ServiceTitan cluster per unmatched cluster: the best-scoring
    -- candidate
    select * from fuzzy_ranked
    where candidate_rank = 1

),

assigned as (

    select
        records_clustered.*,
        coalesce(fuzzy_best.st_cluster_key, records_clustered.cluster_key)
            as person_key,
        fuzzy_best.st_record_key as fuzzy_record_key,
        fuzzy_best.record_key as fuzzy_own_record_key,
        fuzzy_best.match_weight,
        fuzzy_best.contributions,
        fuzzy_best.is_reviewed
    from records_clustered
    left join fuzzy_best
        on records_clustered.cluster_key = fuzzy_best.cluster_key

),

anchored as (

    select
        assigned.*,
        -- the id comes from the earliest record, so it survives records joining
        -- later
        first_value(assigned.record_key) over (
            partition by assigned.person_key
            order by assigned.created_at asc nulls last, assigned.record_key asc
        ) as anchor_record_key,
        -- matches are stated against the primary record: the person's earliest
        -- ServiceTitan customer, else the earliest record
        first_value(assigned.record_key) over (
            partition by assigned.person_key
            order by
                assigned.source_system = 'servicetitan' desc,
                assigned.created_at asc nulls last,
                assigned.record_key asc
        ) as primary_record_key,
        count(*) over (partition by assigned.person_key) as person_record_count
    from assigned

),

final as (

    select
        md5(anchored.anchor_record_key)::uuid as contact_id,
        anchored.record_key,
        anchored.source_system,
        anchored.source_scope,
        anchored.source_id,
        anchored.cluster_key,
        anchored.person_key,
        anchored.record_key = anchored.primary_record_key as is_primary,
        case
            when anchored.person_record_count = 1 then 'single_record'
            when
                anchored.record_key = anchored.primary_record_key
                then 'primary'
            when
                anchored.record_key = anchored.fuzzy_own_record_key
                and anchored.is_reviewed
                then 'reviewed'
            when
                anchored.record_key = anchored.fuzzy_own_record_key
                or anchored.exact_rule is null
                then 'name_and_address'
            else anchored.exact_rule
        end as match_rule,
        case
            when anchored.record_key = anchored.primary_record_key then null
            when
                anchored.record_key = anchored.fuzzy_own_record_key
                or anchored.exact_rule is null
                then anchored.fuzzy_record_key
            else anchored.matched_record_key
        end as matched_record_key,
        case
            when anchored.record_key = anchored.primary_record_key then 1.000
            when
                anchored.record_key = anchored.fuzzy_own_record_key
                and anchored.is_reviewed
                then 1.000
            when
                anchored.record_key = anchored.fuzzy_own_record_key
                or anchored.exact_rule is null
                -- the match probability at even prior odds, below any
                -- identifier's
                then least(
                    1 - power(2::numeric, -anchored.match_weight), 0.950
                )
            when anchored.exact_rule = 'phone_and_email' then 1.000
            when anchored.exact_rule = 'phone' then 0.990
            else 0.980
        end::numeric(4, 3) as confidence,
        -- why a probabilistic link was made: its weight and each field's part
        case
            when
                anchored.record_key = anchored.fuzzy_own_record_key
                and anchored.record_key <> anchored.primary_record_key
                then anchored.match_weight
        end as match_weight,
        case
            when
                anchored.record_key = anchored.fuzzy_own_record_key
                and anchored.record_key <> anchored.primary_record_key
                then anchored.contributions
        end as match_contributions,
        -- kept for the next incremental run (and for the models downstream)
        anchored.phones,
        anchored.emails,
        anchored.zip,
        anchored.house_number
    from anchored

),

{% if is_incremental() %}

    written as (

        select
            final.*,
            previous.contact_id as previous_contact_id,
            array(
                select previous_phone.value
                from unnest(previous.phones) as previous_phone (value)
                except
                select current_phone.value
                from unnest(final.phones) as current_phone (value)
            ) as released_phones,
            array(
                select current_phone.value
                from unnest(final.phones) as current_phone (value)
                except
                select previous_phone.value
                from unnest(previous.phones) as previous_phone (value)
            ) as added_phones,
            {{ run_batch_at() }} as batch_at
        from final
        left join lateral (
            select previous_rows.*
            from {{ this }} as previous_rows
            where previous_rows.record_key = final.record_key
            offset 0  -- noqa: AM09
        ) as previous on true
        where
            final.record_key in (select changed.record_key from changed)
            or (
                final.contact_id,
                final.cluster_key,
                final.person_key,
                final.is_primary,
                final.match_rule,
                final.matched_record_key,
                final.confidence,
                final.phones,
                final.emails,
                final.zip,
                final.house_number,
                final.match_weight,
                final.match_contributions
            ) is distinct from (
                previous.contact_id,
                previous.cluster_key,
                previous.person_key,
                previous.is_primary,
                previous.match_rule,
                previous.matched_record_key,
                previous.confidence,
                previous.phones,
                previous.emails,
                previous.zip,
                previous.house_number,
                previous.match_weight,
                previous.match_contributions
            )

    )

{% else %}

    written as (

        select
            final.*,
            null::uuid as previous_contact_id,
            '{}'::text[] as released_phones,
            final.phones as added_phones,
            {{ run_batch_at() }} as batch_at
        from final

    )

{% endif %}

select * from written
