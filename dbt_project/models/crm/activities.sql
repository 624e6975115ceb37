{#- The contact's timeline from the three systems: CallRail calls (tied to the
    contact that holds the caller's number), GoHighLevel notes, and ServiceTitan
    job events (booked, appointment scheduled, completed, canceled). Calls from
    numbers no contact holds are kept, on the phone number. -#}
with

contacts as (

    select * from {{ ref('contacts') }}

),

links as (

    select * from {{ ref('contact_links') }}

),

calls as (

    select * from {{ ref('stg_callrail__calls') }}

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

phone_owners as (

    -- a number held by exactly one contact
    select
        owned_phone.phone,
        min(contacts.contact_id::text)::uuid as contact_id
    from contacts
    cross join lateral unnest(contacts.phones) as owned_phone (phone)
    group by 1
    having count(distinct contacts.contact_id) = 1

),

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
        concat_ws(
            ' ',
            initcap(calls.direction) || ' call',
            'via ' || coalesce(calls.source_name, calls.campaign)
        ) as subject,
        calls.note as body,
        calls.direction,
        coalesce(
            calls.lead_status,
            case when calls.is_answered then 'answered' else 'missed' end
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
    left join links
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
    left join links
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
    inner join jobs
        on
            appointments.tenant_id = jobs.tenant_id
            and appointments.job_id = jobs.job_id
    left join links
        on
            links.source_system = 'servicetitan'
            and jobs.tenant_id::text = links.source_scope
            and jobs.customer_id::text = links.source_id

),

unioned as (

    select * from call_activities
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
        activity_id,
        contact_id,
        entity_type,
        entity_id,
        source_system,
        source_scope,
        source_id,

        ---------- strings
        activity_type,
        subject,
        body,
        direction,
        outcome,

        ---------- numerics
        duration_seconds,
        monetary_value::numeric(14, 2) as monetary_value,

        ---------- booleans
        is_completed,
        is_deleted,

        ---------- timestamps
        occurred_at,
        scheduled_at

    from unioned

)

select * from final
