{#- Push 3, CallRail calls <- revenue: the desired state of every CallRail call
    that ServiceTitan jobs are attributed to (marts.job_attribution, counted jobs
    only). Which fields are sent comes from workflow.field_mappings (source
    entity sync_callrail_calls, destination callrail calls), each value
    converted by the transformation its mapping names; the hash covers
    the sent fields only, so a change elsewhere sends nothing. -#}
with

attribution as (

    select * from {{ ref('job_attribution') }}

),

mappings as (

    select * from {{ ref('stg_workflow__field_mappings') }}

),

calls as (

    select * from {{ ref('stg_callrail__calls') }}

),

call_jobs as (

    select
        attribution.callrail_account_id as account_id,
        attribution.callrail_call_id as call_id,
        count(*)::integer as job_count,
        sum(attribution.revenue)::numeric(14, 2) as revenue,
        bool_or(attribution.revenue > 0) as is_sold
    from attribution
    where attribution.is_call_attributed and attribution.is_counted
    group by 1, 2

),

available as (

    -- every value a mapping row may choose, under its source_field name
    select
        call_jobs.account_id,
        call_jobs.call_id,
        call_jobs.job_count,
        call_jobs.revenue,
        jsonb_build_object(
            'revenue', call_jobs.revenue,
            'lead_status', 'good_lead',
            'tags',
            case
                when call_jobs.is_sold then '["booked", "sold"]'::jsonb
                else '["booked"]'::jsonb
            end,
            'job_count', call_jobs.job_count,
            'note',
            'LAZI: ' || call_jobs.job_count || ' ServiceTitan job(s), $'
            || call_jobs.revenue || ' invoiced'
        ) as call_fields
    from call_jobs

),

read_back as (

    -- the call's writable fields as the last load read them
    select
        call_jobs.account_id,
        call_jobs.call_id,
        jsonb_build_object(
            'value', calls.value,
            'lead_status', calls.lead_status,
            'tags', to_jsonb(calls.tags),
            'note', calls.note,
            'customer_name', calls.customer_name
        ) as read_fields
    from call_jobs
    left join calls
        on
            call_jobs.account_id = calls.account_id
            and call_jobs.call_id = calls.call_id

),

payloads as (

    select
        available.account_id,
        available.call_id,
        available.job_count,
        available.revenue,
        coalesce(
            jsonb_object_agg(
                mappings.dest_field,
                read_back.read_fields -> mappings.dest_field
            ) filter (where mappings.dest_field is not null),
            '{}'::jsonb
        ) as read_state,
        coalesce(
            jsonb_object_agg(
                mappings.dest_field,
                {{ apply_transformation(
                    'available.call_fields -> mappings.source_field',
                    'mappings.transform_rules'
                ) }}
            ) filter (where mappings.dest_field is not null),
            '{}'::jsonb
        ) as payload
    from available
    left join mappings
        on
            mappings.source_entity = 'sync_callrail_calls'
            and mappings.dest_system = 'callrail'
            and mappings.dest_entity = 'calls'
            and available.call_fields ? mappings.source_field
    inner join read_back
        on
            available.account_id = read_back.account_id
            and available.call_id = read_back.call_id
    group by 1, 2, 3, 4

),

final as (

    select
        ---------- ids
        payloads.account_id || '/' || payloads.call_id as entity_id,
        payloads.account_id,
        payloads.call_id,

        ---------- strings
        md5(payloads.payload::text) as content_hash,

        ---------- numerics
        payloads.job_count,
        payloads.revenue,

        ---------- json
        payloads.payload,
        payloads.read_state

    from payloads

)

select * from final
