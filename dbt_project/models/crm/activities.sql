{#- The contact's timeline from the three systems: CallRail calls and text
    message conversations (tied to the contact that holds the customer's
    number), GoHighLevel notes, and ServiceTitan job events (booked, appointment
    scheduled, completed, canceled). Calls and texts from numbers no contact
    holds are kept, on the phone number.

    Incremental (delete+insert on activity_id): a run redoes the activities
    whose source changed since the last run (calls and conversations with a
    new version, notes with a new webhook, jobs master.jobs recomputed, appointments with a new
    version) and those whose contact may have changed: the activities on the
    old contact of every record the matching moved to another contact, the
    calls from every number whose holders changed (numbers a record gained or
    released, and those of the records that moved: calls and texts), and the
    activities that had no contact yet. previous_contact_id keeps the contact an activity was
    on before, for the models downstream. -#}
{{
    config(
        materialized='incremental',
        unique_key='activity_id',
        incremental_strategy='delete+insert',
        pre_hook="{{ full_build_hints() }}",
    )
}}
{%- set note_lookback = var('crm_webhook_lookback_minutes', 60) -%}

-- change capture (used only by incremental runs):
-- depends_on: {{ ref('stg_callrail__record_versions') }}
-- depends_on: {{ ref('stg_callrail__loads') }}
-- depends_on: {{ ref('stg_servicetitan__record_versions') }}
-- depends_on: {{ ref('stg_servicetitan__loads') }}
-- depends_on: {{ ref('stg_gohighlevel__webhook_events') }}

with

-- not materialized: read where it is used (through its indexes in incremental
-- runs), never copied whole into a temporary table for its four references
matched as not materialized (

    select * from {{ ref('int_contact_records_matched') }}

),

{% if is_incremental() %}

    redone as (

        -- the records the matching redid since this model last ran
        select matched.*
        from matched
        where matched.batch_at > {{ watermark('batch_at', 'timestamptz') }}

    ),

    moved as (

        -- records now on another contact than before
        select redone.*
        from redone
        where redone.previous_contact_id <> redone.contact_id

    ),

    affected_contacts as (

        -- what stays on a moved record's old contact is redone with it; its
        -- new contact's activities are not the record's (a new record's ones
        -- had no contact: they are redone below)
        select distinct moved.previous_contact_id as contact_id from moved

    ),

    affected_phones as (

        select moved_phone.value as phone
        from moved
        cross join lateral unnest(moved.phones) as moved_phone (value)
        union
        select added_phone.value as phone
        from redone
        cross join lateral unnest(redone.added_phones) as added_phone (value)
        union
        select released_phone.value as phone
        from redone
        cross join
            lateral unnest(redone.released_phones) as released_phone (value)

    ),

    affected_previous as (

        -- what is on a redone contact, from a redone number, or on nobody yet;
        -- {{ this }} is read through its indexes, key by key (lookup)
        select
            previous.activity_type,
            previous.source_scope,
            previous.source_id
        from (
            {{ lookup(this, 'affected_contacts', ['contact_id']) }}
        ) as previous
        union
        select
            previous.activity_type,
            previous.source_scope,
            previous.source_id
        from (
            {{ lookup(this, 'affected_phones', ['phone']) }}
        ) as previous
        union
        select
            previous.activity_type,
            previous.source_scope,
            previous.source_id
        from {{ this }} as previous
        where
            previous.contact_id is null
            and previous.activity_type not in ('call', 'sms')

    ),

    call_keys as (

        {{ changed_records(
            'callrail',
            'calls',
            'callrail_last_load_id',
            id_alias='call_id',
        ) }}
        union
        select
            affected_previous.source_scope as account_id,
            affected_previous.source_id as call_id
        from affected_previous
        where affected_previous.activity_type = 'call'

    ),

    calls as (

        {{ lookup(
            ref('stg_callrail__calls'),
            'call_keys',
            ['account_id', 'call_id'],
        ) }}

    ),

    text_keys as (

        {{ changed_records(
            'callrail',
            'text_messages',
            'callrail_last_load_id',
            id_alias='conversation_id',
        ) }}
        union
        select
            affected_previous.source_scope as account_id,
            affected_previous.source_id as conversation_id
        from affected_previous
        where affected_previous.activity_type = 'sms'

    ),

    texts as (

        {{ lookup(
            ref('stg_callrail__text_messages'),
            'text_keys',
            ['account_id', 'conversation_id'],
        ) }}

    ),

    note_keys as (

        select distinct
            events.location_id,
            events.entity_id as note_id
        from {{ ref('stg_gohighlevel__webhook_events') }} as events
        where
            events.event_type in ('NoteCreate', 'NoteUpdate', 'NoteDelete')
            and events.received_at
            > {{ watermark('source_received_at', 'timestamptz') }}
            - interval '{{ note_lookback }} minutes'
        union
        select
            affected_previous.source_scope as location_id,
            affected_previous.source_id as note_id
        from affected_previous
        where affected_previous.activity_type = 'note'

    ),

    notes as (

        select all_notes.*
        from {{ ref('stg_gohighlevel__notes') }} as all_notes
        inner join note_keys
            on
                all_notes.location_id = note_keys.location_id
                and all_notes.note_id = note_keys.note_id

    ),

    job_keys as (

        select
            changed_jobs.tenant_id,
            changed_jobs.job_id
        from {{ ref('jobs') }} as changed_jobs
        where changed_jobs.last_load_id > {{ watermark('last_load_id') }}
        union
        select
            affected_previous.source_scope::bigint as tenant_id,
            affected_previous.source_id::bigint as job_id
        from affected_previous
        where affected_previous.activity_type like 'job\_%'

    ),

    jobs as (

        select all_jobs.*
        from job_keys
        inner join {{ ref('jobs') }} as all_jobs
            on
                job_keys.tenant_id = all_jobs.tenant_id
                and job_keys.job_id = all_jobs.job_id

    ),

    changed_appointments as (

        {{ changed_records('servicetitan', ['appointments']) }}

    ),

    appointment_keys as (

        select
            changed_appointments.tenant_id,
            changed_appointments.record_id as appointment_id
        from changed_appointments
        union
        select
            affected_previous.source_scope::bigint as tenant_id,
            affected_previous.source_id::bigint as appointment_id
        from affected_previous
        where affected_previous.activity_type = 'appointment'
        union
        -- a changed job moves its appointments with it
        select
            previous.source_scope::bigint as tenant_id,
            previous.source_id::bigint as appointment_id
        from job_keys
        inner join {{ this }} as previous
            on
                previous.entity_type = 'job'
                and previous.entity_id
                = job_keys.tenant_id || ':' || job_keys.job_id
        where previous.activity_type = 'appointment'

    ),

    appointments as (

        {{ lookup(
            ref('stg_servicetitan__appointments'),
            'appointment_keys',
            ['tenant_id', 'appointment_id'],
        ) }}

    ),

    appointment_job_keys as (

        select distinct
            appointments.tenant_id,
            appointments.job_id
        from appointments

    ),

    appointment_jobs as (

        select all_jobs.*
        from appointment_job_keys
        inner join {{ ref('jobs') }} as all_jobs
            on
                appointment_job_keys.tenant_id = all_jobs.tenant_id
                and appointment_job_keys.job_id = all_jobs.job_id

    ),

    customer_phones as (

        select calls.customer_phone as phone
        from calls
        where calls.customer_phone is not null
        union
        select texts.customer_phone as phone
        from texts
        where texts.customer_phone is not null

    ),

    phone_owners as (

        -- a number held by exactly one contact: read from the table, not the
        -- matched CTE, so that its GIN index on phones answers each number
        select
            customer_phones.phone,
            owners.contact_id
        from customer_phones
        cross join lateral (
            select min(holders.contact_id::text)::uuid as contact_id
            from {{ ref('int_contact_records_matched') }} as holders
            where holders.phones @> array[customer_phones.phone]
            having count(distinct holders.contact_id) = 1
        ) as owners

    ),

{% else %}

    calls as (

        select * from {{ ref('stg_callrail__calls') }}

    ),

    texts as (

        select * from {{ ref('stg_callrail__text_messages') }}

    ),

    notes as (

        select * from {{ ref('stg_gohighlevel__notes') }}

    ),

    jobs as (

        select * from {{ ref('jobs') }}

    ),

    appointments as (

        select * from {{ ref('stg_servicetitan__appointments') }}

    ),

    appointment_jobs as (

        select * from {{ ref('jobs') }}

    ),

    phone_owners as (

        -- a number held by exactly one contact (tested on the result, not in
        -- a HAVING clause, whose row estimate would mislead the planner)
        select
            owned_phone.phone,
            case
                when count(distinct matched.contact_id) = 1
                    then min(matched.contact_id::text)::uuid
            end as contact_id
        from matched
        cross join lateral unnest(matched.phones) as owned_phone (phone)
        group by 1

    ),

{% endif %}

call_activities as (

    select
        'callrail:call:' || calls.account_id || ':' || calls.call_id
            as activity_id,
        phone_owners.contact_id,
        case
            when phone_owners.contact_id is not null then 'contact'
            else 'phone_number'
        end as entity_type,
        coalesce(phone_owners.contact_id::text, calls.customer_phone)
            as entity_id,
        'call' as activity_type,
        'callrail' as source_system,
        calls.account_id as source_scope,
        calls.call_id as source_id,
        calls.customer_phone as phone,
        null::timestamptz as source_received_at,
        concat_ws(
            ' ',
            initcap(calls.direction) || ' call',
            'via ' || coalesce(calls.source_name, calls.campaign)
        ) as subject,
        calls.note as body,
        calls.direction,
        coalesce(
            calls.lead_status,
            case
                when calls.is_answered then 'answered'
                when not calls.is_answered then 'missed'
            end
        ) as outcome,
        calls.duration_seconds::integer as duration_seconds,
        calls.value as monetary_value,
        true as is_completed,
        calls.is_deleted,
        calls.started_at as occurred_at,
        null::timestamptz as scheduled_at
    from calls
    left join phone_owners
        on calls.customer_phone = phone_owners.phone

),

sms_activities as (

    -- one per conversation, dated by its newest message
    select
        'callrail:sms:' || texts.account_id || ':' || texts.conversation_id
            as activity_id,
        phone_owners.contact_id,
        case
            when phone_owners.contact_id is not null then 'contact'
            else 'phone_number'
        end as entity_type,
        coalesce(phone_owners.contact_id::text, texts.customer_phone)
            as entity_id,
        'sms' as activity_type,
        'callrail' as source_system,
        texts.account_id as source_scope,
        texts.conversation_id as source_id,
        texts.customer_phone as phone,
        null::timestamptz as source_received_at,
        concat_ws(' ', 'Text messages', 'via ' || texts.tracker_name)
            as subject,
        texts.last_message_content as body,
        case texts.last_message_direction
            when 'incoming' then 'inbound'
            when 'outgoing' then 'outbound'
        end as direction,
        texts.state as outcome,
        null::integer as duration_seconds,
        null::numeric as monetary_value,
        true as is_completed,
        texts.is_deleted,
        texts.last_message_at as occurred_at,
        null::timestamptz as scheduled_at
    from texts
    left join phone_owners
        on texts.customer_phone = phone_owners.phone

),

note_activities as (

    select
        'gohighlevel:note:' || notes.location_id || ':' || notes.note_id
            as activity_id,
        links.contact_id,
        'contact' as entity_type,
        coalesce(
            links.contact_id::text,
            'gohighlevel:' || notes.location_id || ':' || notes.contact_id
        ) as entity_id,
        'note' as activity_type,
        'gohighlevel' as source_system,
        notes.location_id as source_scope,
        notes.note_id as source_id,
        null::text as phone,
        notes.updated_at as source_received_at,
        'Note' as subject,
        notes.body,
        null::text as direction,
        null::text as outcome,
        null::integer as duration_seconds,
        null::numeric as monetary_value,
        true as is_completed,
        notes.is_deleted,
        coalesce(notes.added_at, notes.updated_at) as occurred_at,
        null::timestamptz as scheduled_at
    from notes
    left join matched as links
        on
            links.source_system = 'gohighlevel'
            and notes.location_id = links.source_scope
            and notes.contact_id = links.source_id

),

job_events as (

    select
        jobs.*,
        job_event.activity_type,
        job_event.occurred_at
    from jobs
    cross join
        lateral (
            values
            ('job_booked', jobs.created_at),
            (
                'job_completed',
                case
                    when jobs.job_status = 'Completed' then jobs.completed_at
                end
            ),
            (
                'job_canceled',
                case when jobs.job_status = 'Canceled' then jobs.modified_at end
            )
        ) as job_event (activity_type, occurred_at)
    where job_event.occurred_at is not null

),

job_activities as (

    select
        'servicetitan:' || job_events.activity_type || ':'
        || job_events.tenant_id || ':' || job_events.job_id as activity_id,
        links.contact_id,
        'job' as entity_type,
        job_events.tenant_id || ':' || job_events.job_id as entity_id,
        job_events.activity_type,
        'servicetitan' as source_system,
        job_events.tenant_id::text as source_scope,
        job_events.job_id::text as source_id,
        null::text as phone,
        null::timestamptz as source_received_at,
        initcap(replace(job_events.activity_type, '_', ' '))
        || ': job ' || job_events.job_number as subject,
        null::text as body,
        null::text as direction,
        job_events.job_status as outcome,
        null::integer as duration_seconds,
        null::numeric as monetary_value,
        job_events.activity_type <> 'job_booked'
        or job_events.job_status in ('Completed', 'Canceled') as is_completed,
        job_events.is_deleted or not job_events.is_active as is_deleted,
        job_events.occurred_at,
        null::timestamptz as scheduled_at
    from job_events
    left join matched as links
        on
            links.source_system = 'servicetitan'
            and job_events.tenant_id::text = links.source_scope
            and job_events.customer_id::text = links.source_id

),

appointment_activities as (

    select
        'servicetitan:appointment:' || appointments.tenant_id || ':'
        || appointments.appointment_id as activity_id,
        links.contact_id,
        'job' as entity_type,
        appointments.tenant_id || ':' || appointments.job_id as entity_id,
        'appointment' as activity_type,
        'servicetitan' as source_system,
        appointments.tenant_id::text as source_scope,
        appointments.appointment_id::text as source_id,
        null::text as phone,
        null::timestamptz as source_received_at,
        'Appointment ' || appointments.appointment_number as subject,
        null::text as body,
        null::text as direction,
        appointments.appointment_status as outcome,
        (
            extract(epoch from appointments.ends_at - appointments.starts_at)
        )::integer as duration_seconds,
        null::numeric as monetary_value,
        appointments.appointment_status = 'Done' as is_completed,
        appointments.is_deleted or not appointments.is_active as is_deleted,
        appointments.created_at as occurred_at,
        appointments.starts_at as scheduled_at
    from appointments
    inner join appointment_jobs as jobs
        on
            appointments.tenant_id = jobs.tenant_id
            and appointments.job_id = jobs.job_id
    left join matched as links
        on
            links.source_system = 'servicetitan'
            and jobs.tenant_id::text = links.source_scope
            and jobs.customer_id::text = links.source_id

),

unioned as (

    select * from call_activities
    union all
    select * from sms_activities
    union all
    select * from note_activities
    union all
    select * from job_activities
    union all
    select * from appointment_activities

),

final as (

    select
        ---------- ids
        unioned.activity_id::text as activity_id,
        unioned.contact_id::uuid as contact_id,
        unioned.entity_type::text as entity_type,
        unioned.entity_id::text as entity_id,
        unioned.source_system::text as source_system,
        unioned.source_scope::text as source_scope,
        unioned.source_id::text as source_id,

        ---------- strings
        unioned.activity_type::text as activity_type,
        unioned.phone::text as phone,
        unioned.subject::text as subject,
        unioned.body::text as body,
        unioned.direction::text as direction,
        unioned.outcome::text as outcome,

        ---------- numerics
        unioned.duration_seconds::integer as duration_seconds,
        unioned.monetary_value::numeric(14, 2) as monetary_value,

        ---------- booleans
        unioned.is_completed,
        unioned.is_deleted,

        ---------- timestamps
        unioned.occurred_at,
        unioned.scheduled_at,

        ---------- run bookkeeping (incremental cursors)
        unioned.source_received_at,
        {% if is_incremental() %}
            previous.contact_id as previous_contact_id,
        {% else %}
            null::uuid as previous_contact_id,
        {% endif %}
        {{ run_batch_at() }} as batch_at,
        {{ latest_completed_load('servicetitan') }} as last_load_id,
        {{ latest_completed_load('callrail') }} as callrail_last_load_id

    from unioned
    {% if is_incremental() %}
        left join {{ this }} as previous
            on unioned.activity_id = previous.activity_id
    {% endif %}

)

select * from final
