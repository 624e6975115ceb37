{#- The match parameters of the probabilistic contact matching, estimated
    without labels: one row per comparison level (m, u and the weight
    log2(m / u)) and one per common first and last name (its term frequency).

    u: the levels among random pairs of a ServiceTitan customer and a
    GoHighLevel contact (a deterministic sample of each side, crossed), nearly
    all of which are two people. m: the levels among the pairs that share a
    phone or an email held by few records (nearly all one person); the phone's
    m among those sharing an email, the email's among those sharing a phone, so
    that no field is measured on the pairs it selected. Each estimate starts
    from the prior in crm_match_levels() and moves by what it counted
    (pseudo-counts), so a small warehouse gets sane weights.

    Frozen: estimated on the first build and again only on request
    (`--vars '{crm_match_retrain: true}'`, then a --full-refresh of the pairs),
    never by a --full-refresh of its own (full_refresh=false): every pair must
    be scored with the same weights, or an incremental build would not equal a
    full one. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        full_refresh=false,
        pre_hook="{{ crm_match_parameters_reset() }}",
    )
}}
{%- set retrain = var('crm_match_retrain', false) -%}
{%- set sample = var('crm_match_u_sample_side', 600) | int -%}
{%- set seed_limit = var('crm_match_m_sample', 100000) | int -%}
{%- set pseudo = var('crm_match_pseudo_count', 20) | int -%}
{%- set levels = crm_match_levels() -%}
{#- estimate on the first build, on request, and while none could be made -#}
{%- set estimate = {'now': true} -%}
{%- if execute and is_incremental() and not retrain -%}
    {%- set query -%}
        select count(*) from {{ this }} where match_weight is not null
    {%- endset -%}
    {%- do estimate.update({'now': run_query(query).columns[0].values()[0] == 0}) -%}
{%- endif -%}
{%- set comparisons = crm_match_comparisons() -%}

with

records as (

    select * from {{ ref('int_contact_match_features') }}
    {% if not estimate['now'] %}
        -- estimated already: nothing to add
        where false
    {% endif %}

),

st_sample as (

    select
        md5(records.record_key) as sample_order,
        records.*
    from records
    where records.source_system = 'servicetitan'
    order by 1
    limit {{ sample }}

),

ghl_sample as (

    select
        md5(records.record_key) as sample_order,
        records.*
    from records
    where records.source_system = 'gohighlevel'
    order by 1
    limit {{ sample }}

),

held as (

    select
        records.record_key,
        records.source_system,
        'phone' as kind,
        phone.value
    from records
    cross join lateral unnest(records.phones) as phone (value)
    union all
    select
        records.record_key,
        records.source_system,
        'email' as kind,
        email.value
    from records
    cross join lateral unnest(records.emails) as email (value)

),

few_holders as (

    -- an identifier on a few records: a household's, not an office line's
    select
        held.kind,
        held.value
    from held
    group by 1, 2
    having count(*) <= 4

),

identifying as (

    select held.*
    from held
    inner join few_holders
        on held.kind = few_holders.kind and held.value = few_holders.value

),

seed_all as (

    select
        st.record_key as st_record_key,
        ghl.record_key as ghl_record_key,
        bool_or(st.kind = 'phone') as shares_phone,
        bool_or(st.kind = 'email') as shares_email
    from identifying as st
    inner join identifying as ghl
        on st.kind = ghl.kind and st.value = ghl.value
    where
        st.source_system = 'servicetitan'
        and ghl.source_system = 'gohighlevel'
    group by 1, 2

),

seed_keys as (

    select
        md5(seed_all.st_record_key || seed_all.ghl_record_key) as seed_order,
        seed_all.*
    from seed_all
    order by 1
    limit {{ seed_limit }}

),

pairs as (

    select
        'u' as estimate,
        true as shares_phone,
        true as shares_email,
        {{ crm_match_side('st', 'l_') }},
        {{ crm_match_side('ghl', 'r_', crm_match_swapped('st', 'ghl')) }}
    from st_sample as st
    cross join ghl_sample as ghl
    union all
    select
        'm' as estimate,
        seed_keys.shares_phone,
        seed_keys.shares_email,
        {{ crm_match_side('st', 'l_') }},
        {{ crm_match_side('ghl', 'r_', crm_match_swapped('st', 'ghl')) }}
    from seed_keys
    inner join records as st on seed_keys.st_record_key = st.record_key
    inner join records as ghl on seed_keys.ghl_record_key = ghl.record_key

),

compared as (

    select
        estimate,
        shares_phone,
        shares_email,
        {{ crm_match_level_columns() }}
    from pairs

),

counted as (

    {%- for name in comparisons %}
        select
            estimate,
            '{{ name }}' as comparison,
            {{ name }} as level,  -- noqa: RF04
            count(*) as pair_count
        from compared
        where
            {{ name }} is not null
            {%- if name == 'phone' %}
                -- measured where the pair was not chosen for it
                and (estimate = 'u' or shares_email)
            {%- elif name == 'email' %}
                and (estimate = 'u' or shares_phone)
            {%- endif %}
        group by 1, 2, 3
        {{ 'union all' if not loop.last }}
    {%- endfor %}

),

priors (comparison, level, ordinal, prior_m, prior_u) as (

    values
    {%- for name, rows in levels.items() %}
        {%- set outer = loop %}
        {%- for level, m, u in rows %}
            (
                '{{ name }}',
                '{{ level }}',
                {{ loop.index }},
                {{ m }}::float8,
                {{ u }}::float8
            )
            {{- ',' if not (loop.last and outer.last) }}
        {%- endfor %}
    {%- endfor %}

),

m_totals as (

    select
        counted.comparison,
        sum(counted.pair_count) as pair_count
    from counted
    where counted.estimate = 'm'
    group by 1

),

u_totals as (

    select
        counted.comparison,
        sum(counted.pair_count) as pair_count
    from counted
    where counted.estimate = 'u'
    group by 1

),

estimated as (

    select
        priors.comparison,
        priors.level,
        priors.ordinal,
        (
            coalesce(m_counts.pair_count, 0) + {{ pseudo }} * priors.prior_m
        ) / (coalesce(m_totals.pair_count, 0) + {{ pseudo }}) as m_probability,
        (
            coalesce(u_counts.pair_count, 0) + {{ pseudo }} * priors.prior_u
        ) / (coalesce(u_totals.pair_count, 0) + {{ pseudo }}) as u_probability,
        coalesce(m_counts.pair_count, 0) as m_pairs,
        coalesce(u_counts.pair_count, 0) as u_pairs
    from priors
    left join counted as m_counts
        on
            priors.comparison = m_counts.comparison
            and priors.level = m_counts.level
            and m_counts.estimate = 'm'
    left join counted as u_counts
        on
            priors.comparison = u_counts.comparison
            and priors.level = u_counts.level
            and u_counts.estimate = 'u'
    left join m_totals
        on priors.comparison = m_totals.comparison
    left join u_totals
        on priors.comparison = u_totals.comparison

),

name_values as (

    {%- for name in crm_match_tf_comparisons() %}
        select
            '{{ name }}_tf' as comparison,
            records.{{ name }} as level  -- noqa: RF04
        from records
        where records.{{ name }} is not null
        {{ 'union all' if not loop.last }}
    {%- endfor %}

),

term_frequencies as (

    -- the share of records holding the name: the chance that a random pair
    -- agrees on it. Names held once fall back to the '' row (one record).
    select
        comparison,
        level,
        count(*)::float8 / sum(count(*)) over (partition by comparison)
            as u_probability,
        count(*) as u_pairs
    from name_values
    group by 1, 2
    having count(*) > 1
    union all
    select
        comparison,
        '' as level,  -- noqa: RF04
        1::float8 / count(*) as u_probability,
        count(*) as u_pairs
    from name_values
    group by 1

),

weighed as (

    select
        estimated.*,
        log(
            2, (estimated.m_probability / estimated.u_probability)::numeric
        )::float8 as raw_weight
    from estimated

),

final as (

    select
        comparison,
        level,
        m_probability,
        u_probability,
        -- a weaker level never weighs more than a stronger one: a level seen
        -- in neither sample (a city typo) would otherwise get its weight from
        -- the priors' ratio alone
        min(raw_weight) over (
            partition by comparison
            order by ordinal
            rows between unbounded preceding and current row
        ) as match_weight,
        m_pairs,
        u_pairs,
        {{ run_batch_at() }} as trained_at
    from weighed
    where exists (select from records)
    union all
    select
        comparison,
        level,
        null::float8 as m_probability,
        u_probability,
        null::float8 as match_weight,
        0 as m_pairs,
        u_pairs,
        {{ run_batch_at() }} as trained_at
    from term_frequencies

)

select * from final
