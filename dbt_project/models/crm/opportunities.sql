{#- Incremental (delete+insert on location_id, opportunity_id): a run redoes the
    opportunities with a GoHighLevel version loaded since the newest load its
    rows carry, those of the GoHighLevel contacts whose link to a CRM contact the
    matching redid since this model last ran, and every opportunity when a
    pipeline or stage it shows changed (stages_fingerprint). Opportunities never
    disappear (a deleted one stays, flagged), so nothing else has to go. -#}
{{
    config(
        materialized='incremental',
        unique_key=['location_id', 'opportunity_id'],
        incremental_strategy='delete+insert',
        pre_hook="{{ full_build_hints(incremental_too=true, full_build=false) }}",
    )
}}

-- change capture (used only by incremental runs):
-- depends_on: {{ ref('stg_gohighlevel__record_versions') }}
-- depends_on: {{ ref('stg_gohighlevel__loads') }}

with

pipelines as (

    select * from {{ ref('pipelines') }}

),

stages as (

    select * from {{ ref('pipeline_stages') }}

),

stages_fingerprint as (

    -- what the rows show of pipelines and stages, as one value: when it
    -- changes, every opportunity is redone
    select
        md5(
            coalesce(
                (
                    select
                        string_agg(
                            concat_ws(
                                '|',
                                pipelines.location_id,
                                pipelines.pipeline_id,
                                pipelines.pipeline_name
                            ),
                            ','
                            order by
                                pipelines.location_id, pipelines.pipeline_id
                        )
                    from pipelines
                ),
                ''
            )
            || '/'
            || coalesce(
                (
                    select
                        string_agg(
                            concat_ws(
                                '|',
                                stages.location_id,
                                stages.pipeline_id,
                                stages.stage_id,
                                stages.stage_name,
                                stages.stage_position,
                                stages.probability_percent
                            ),
                            ','
                            order by
                                stages.location_id,
                                stages.pipeline_id,
                                stages.stage_id
                        )
                    from stages
                ),
                ''
            )
        ) as fingerprint

),

{% if is_incremental() %}

    previous_fingerprint as (

        select {{ newest_written('stages_fingerprint') }} as fingerprint

    ),

    relinked as (

        -- GoHighLevel contacts whose link the matching redid since this model
        -- last ran (contact_links carries the matching's batch_at)
        select
            links.source_scope as location_id,
            links.source_id as ghl_contact_id
        from {{ ref('contact_links') }} as links
        where
            links.batch_at > {{ watermark('batch_at', 'timestamptz') }}
            and links.source_system = 'gohighlevel'

    ),

    opportunity_keys as (

        {{ changed_records(
            'gohighlevel',
            'opportunities',
            'ghl_last_load_id',
            id_alias='opportunity_id',
        ) }}
        union
        select
            relinked_opportunities.location_id,
            relinked_opportunities.opportunity_id
        from (
            {{ lookup(this, 'relinked', ['location_id', 'ghl_contact_id']) }}
        ) as relinked_opportunities
        union
        select
            previous.location_id,
            previous.opportunity_id
        from {{ this }} as previous
        cross join stages_fingerprint
        cross join previous_fingerprint
        where
            stages_fingerprint.fingerprint
            is distinct from previous_fingerprint.fingerprint

    ),

    opportunities as (

        {{ lookup(
            ref('stg_gohighlevel__opportunities'),
            'opportunity_keys',
            ['location_id', 'opportunity_id'],
        ) }}

    ),

    links as (

        -- the opportunities' contacts' links, key by key
        {{ lookup(
            ref('contact_links'),
            'opportunities',
            ['source_system', 'source_scope', 'source_id'],
            ["'gohighlevel'", 'location_id', 'contact_id'],
        ) }}

    ),

{% else %}

    opportunities as (

        select * from {{ ref('stg_gohighlevel__opportunities') }}

    ),

    links as (

        select * from {{ ref('contact_links') }}

    ),

{% endif %}

final as (

    select
        -- text, as the contract has it: raw's key columns are varchar, and an
        -- incremental run's rows must have the table's column types
        ---------- ids
        opportunities.opportunity_id::text as opportunity_id,
        opportunities.location_id::text as location_id,
        links.contact_id,
        opportunities.contact_id::text as ghl_contact_id,
        opportunities.pipeline_id::text as pipeline_id,
        opportunities.stage_id::text as stage_id,
        opportunities.assigned_user_id::text as owner_id,
        opportunities.lost_reason_id::text as lost_reason_id,

        ---------- strings
        opportunities.opportunity_name::text as opportunity_name,
        pipelines.pipeline_name,
        stages.stage_name,
        opportunities.status::text as status,
        opportunities.lead_source::text as lead_source,

        ---------- numerics
        opportunities.monetary_value::numeric(14, 2) as value,  -- noqa: RF04
        stages.stage_position,
        stages.probability_percent,
        case
            when opportunities.status = 'won' then opportunities.monetary_value
            when opportunities.status in ('lost', 'abandoned') then 0
            else
                opportunities.monetary_value
                * stages.probability_percent
                / 100.0
        end::numeric(14, 2) as weighted_value,

        ---------- booleans
        opportunities.status = 'open' as is_open,
        opportunities.status = 'won' as is_won,
        opportunities.status in ('lost', 'abandoned') as is_lost,
        opportunities.is_deleted,
        opportunities.has_type_errors,

        ---------- timestamps
        opportunities.created_at,
        opportunities.updated_at,
        opportunities.last_stage_change_at,
        opportunities.last_status_change_at,

        ---------- run bookkeeping (incremental cursors)
        stages_fingerprint.fingerprint as stages_fingerprint,
        {{ run_batch_at() }} as batch_at,
        {{ latest_completed_load('gohighlevel') }} as ghl_last_load_id

    from opportunities
    left join links
        on
            links.source_system = 'gohighlevel'
            and opportunities.location_id = links.source_scope
            and opportunities.contact_id = links.source_id
    left join pipelines
        on
            opportunities.location_id = pipelines.location_id
            and opportunities.pipeline_id = pipelines.pipeline_id
    left join stages
        on
            opportunities.location_id = stages.location_id
            and opportunities.pipeline_id = stages.pipeline_id
            and opportunities.stage_id = stages.stage_id
    cross join stages_fingerprint

)

select * from final
