{#- The current version of every CallRail call, with the columns the marts
    read, kept as a table: the staging view parses raw's JSON and picks the
    latest of all versions on every read, so a mart that counts every call would
    read the whole of raw after each load, and looking calls up in it cost a
    sort of their versions each.

    Incremental (delete+insert on account_id, call_id): a run redoes the calls
    with a version in a completed load since the newest load its rows carry. -#}
{{
    config(
        materialized='incremental',
        unique_key=['account_id', 'call_id'],
        incremental_strategy='delete+insert',
    )
}}

-- change capture (used only by incremental runs):
-- depends_on: {{ ref('stg_callrail__record_versions') }}
-- depends_on: {{ ref('stg_callrail__loads') }}

with

{% if is_incremental() %}

    call_keys as (

        {{ changed_records(
            'callrail',
            'calls',
            'callrail_last_load_id',
            id_alias='call_id',
        ) }}

    ),

    calls as (

        {{ lookup(
            ref('stg_callrail__calls'),
            'call_keys',
            ['account_id', 'call_id'],
        ) }}

    ),

{% else %}

    calls as (

        select * from {{ ref('stg_callrail__calls') }}

    ),

{% endif %}

final as (

    select
        ---------- ids
        calls.account_id,
        calls.call_id,
        calls.tracker_id,

        ---------- strings
        calls.direction,
        calls.source,
        calls.medium,
        calls.campaign,

        ---------- booleans
        calls.is_answered,
        calls.is_first_call,
        calls.is_deleted,

        ---------- bookkeeping
        {{ run_batch_at() }} as batch_at,
        {{ latest_completed_load('callrail') }} as callrail_last_load_id

    from calls

)

select * from final
