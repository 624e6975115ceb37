{#- Every record's person: the exact clusters, plus fuzzy matching for clusters
    with no ServiceTitan customer. Such a cluster joins the ServiceTitan cluster
    whose customer has the same ZIP and house number, a street that is at least
    `crm_fuzzy_min_street_similarity` similar and a name (or, for a business,
    company name) at least `crm_fuzzy_min_name_similarity` similar (pg_trgm
    similarity of the normalised texts); the best-scoring candidate wins and its
    score is the confidence. A contact's id is derived from its earliest record,
    so it survives new records joining it. -#}
{%- set min_name = var('crm_fuzzy_min_name_similarity', 0.5) -%}
{%- set min_street = var('crm_fuzzy_min_street_similarity', 0.6) -%}

with

records as (

    select * from {{ ref('int_contact_records_unioned') }}

),

clustered as (

    select * from {{ ref('int_contact_records_clustered') }}

),

records_clustered as (

    select
        records.*,
        clustered.cluster_key,
        clustered.matched_record_key,
        clustered.exact_rule,
        bool_or(records.source_system = 'servicetitan')
            over (partition by clustered.cluster_key)
            as cluster_has_st_customer,
        -- the house number of "1311 Highland Rd": the blocking key of fuzzy
        -- matching
        substring(records.street_normalized from '^([0-9]+[a-z]?)(?: |$)')
            as house_number
    from records
    inner join clustered
        on records.record_key = clustered.record_key

),

fuzzy_candidates as (

    select
        unmatched.cluster_key,
        unmatched.record_key,
        customers.cluster_key as st_cluster_key,
        customers.record_key as st_record_key,
        greatest(
            similarity(unmatched.name_normalized, customers.name_normalized),
            coalesce(
                similarity(
                    unmatched.company_normalized, customers.name_normalized
                ),
                0
            )
        ) as name_similarity,
        similarity(
            unmatched.street_normalized, customers.street_normalized
        ) as street_similarity
    from records_clustered as unmatched
    inner join records_clustered as customers
        on
            unmatched.zip = customers.zip
            and unmatched.house_number = customers.house_number
    where
        not unmatched.cluster_has_st_customer
        and customers.source_system = 'servicetitan'

),

fuzzy_ranked as (

    select
        fuzzy_candidates.cluster_key,
        fuzzy_candidates.record_key,
        fuzzy_candidates.st_cluster_key,
        fuzzy_candidates.st_record_key,
        round(
            (
                fuzzy_candidates.name_similarity
                + fuzzy_candidates.street_similarity
            )::numeric / 2,
            3
        ) as score,
        row_number() over (
            partition by fuzzy_candidates.cluster_key
            order by
                fuzzy_candidates.name_similarity
                + fuzzy_candidates.street_similarity desc,
                fuzzy_candidates.st_record_key asc
        ) as candidate_rank
    from fuzzy_candidates
    where
        fuzzy_candidates.name_similarity >= {{ min_name }}
        and fuzzy_candidates.street_similarity >= {{ min_street }}

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
        fuzzy_best.score as fuzzy_score
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
        md5(anchor_record_key)::uuid as contact_id,
        record_key,
        source_system,
        source_scope,
        source_id,
        person_key,
        record_key = primary_record_key as is_primary,
        case
            when person_record_count = 1 then 'single_record'
            when record_key = primary_record_key then 'primary'
            when fuzzy_record_key is not null then 'name_and_address'
            else exact_rule
        end as match_rule,
        case
            when record_key = primary_record_key then null
            when fuzzy_record_key is not null then fuzzy_record_key
            else matched_record_key
        end as matched_record_key,
        case
            when record_key = primary_record_key then 1.000
            when fuzzy_record_key is not null then least(fuzzy_score, 0.950)
            when exact_rule = 'phone_and_email' then 1.000
            when exact_rule = 'phone' then 0.990
            else 0.980
        end::numeric(4, 3) as confidence
    from anchored

)

select * from final
