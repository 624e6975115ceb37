{#- Contact notes from the two places they can arrive: a listing of contact
    notes (raw.ghl_contact_notes, when a loader writes it) and NoteCreate /
    NoteUpdate / NoteDelete webhooks. The latest word on each note wins; a
    NoteDelete marks it deleted. -#}
{%- set listed = source('gohighlevel', 'ghl_contact_notes') -%}

with

events as (

    select * from {{ ref('stg_gohighlevel__webhook_events') }}

),

completed_loads as (

    {{ crm_completed_loads(source('gohighlevel', 'dlt_loads')) }}

),

{% if crm_relation_exists(listed) %}

listed_notes as (

    select
        listed.ghl_id::text as note_id,
        listed.location_id::text as location_id,
        listed.full_data,
        listed.is_deleted,
        listed.type_errors,
        coalesce(listed.modified_on, loads.inserted_at) as observed_at
    from {{ listed }} as listed
    inner join {{ source('gohighlevel', 'dlt_loads') }} as loads
        on listed._dlt_load_id = loads.load_id
    where loads.status = 0

),

{% else %}

    listed_notes as (

        select
            null::text as note_id,
            null::text as location_id,
            null::jsonb as full_data,
            null::boolean as is_deleted,
            null::text as type_errors,
            null::timestamptz as observed_at
        where false and exists (select 1 from completed_loads)

    ),

{% endif %}

webhook_notes as (

    select
        events.entity_id as note_id,
        events.location_id,
        events.payload as full_data,
        events.event_type = 'NoteDelete' as is_deleted,
        null::text as type_errors,
        events.received_at as observed_at
    from events
    where
        events.event_type in ('NoteCreate', 'NoteUpdate', 'NoteDelete')
        and events.entity_id is not null

),

unioned as (

    select * from listed_notes
    union all
    select * from webhook_notes

),

ranked as (

    -- the note's content is its latest create or update (a NoteDelete carries
    -- none); whether it is deleted is the latest word of any kind
    select
        unioned.location_id,
        unioned.note_id,
        unioned.full_data,
        unioned.type_errors,
        unioned.observed_at,
        first_value(unioned.is_deleted) over (
            partition by unioned.location_id, unioned.note_id
            order by
                unioned.observed_at desc nulls last, unioned.is_deleted desc
        ) as is_deleted,
        row_number() over (
            partition by unioned.location_id, unioned.note_id
            order by unioned.is_deleted asc, unioned.observed_at desc nulls last
        ) as content_rank
    from unioned

),

latest as (

    select * from ranked
    where content_rank = 1

),

typed as (

    select
        latest.*,
        latest.full_data ->> 'dateAdded' as date_added_text,
        {{ crm_safe_timestamptz("latest.full_data ->> 'dateAdded'") }}
            as added_at
    from latest

),

renamed as (

    select
        ---------- ids
        note_id,
        location_id,
        nullif(full_data ->> 'contactId', '') as contact_id,
        nullif(full_data ->> 'userId', '') as user_id,

        ---------- strings
        full_data ->> 'body' as body,
        type_errors,

        ---------- booleans
        is_deleted,
        (
            type_errors is not null
            or (date_added_text is not null and added_at is null)
        ) as has_type_errors,

        ---------- timestamps
        added_at,
        observed_at as updated_at

    from typed

)

select * from renamed
