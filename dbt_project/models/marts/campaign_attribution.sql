{#- Calls, jobs and revenue per marketing campaign, two ways side by side:
    `callrail` rows group inbound calls by CallRail account, source, medium and
    campaign, and credit them the jobs they are the last touch of
    (marts.job_attribution); `servicetitan` rows group jobs by the campaign
    ServiceTitan booked them under. A job counts when it is active, not deleted
    and not canceled; its revenue is the sum of its active invoices' totals. -#}
-- not materialized: read twice, a materialized job_attribution was copied
-- whole (2.2 M rows, 700 MB at 1,000,000 customers) into a temporary file
with

attribution as not materialized (

    select * from {{ ref('job_attribution') }}

),

calls as (

    select * from {{ ref('int_callrail_calls_persisted') }}

),

call_contacts as (

    select * from {{ ref('int_call_contacts') }}

),

callrail_calls as (

    select
        calls.account_id,
        coalesce(calls.source, 'unknown') as marketing_source,
        coalesce(calls.medium, 'unknown') as marketing_medium,
        coalesce(calls.campaign, 'unknown') as campaign_name,
        count(*) as call_count,
        count(*) filter (where calls.is_answered) as answered_call_count,
        count(*) filter (where calls.is_first_call) as first_call_count,
        count(*) filter (
            where call_contacts.contact_id is not null
        ) as matched_call_count
    from calls
    left join call_contacts
        on
            calls.account_id = call_contacts.account_id
            and calls.call_id = call_contacts.call_id
    where calls.direction = 'inbound' and not calls.is_deleted
    group by 1, 2, 3, 4

),

callrail_jobs as (

    select
        attribution.callrail_account_id as account_id,
        coalesce(attribution.call_source, 'unknown') as marketing_source,
        coalesce(attribution.call_medium, 'unknown') as marketing_medium,
        coalesce(attribution.call_campaign, 'unknown') as campaign_name,
        count(*) as job_count,
        count(*) filter (where attribution.is_completed) as completed_job_count,
        sum(attribution.revenue) as revenue,
        sum(attribution.paid_revenue) as paid_revenue
    from attribution
    where attribution.is_call_attributed and attribution.is_counted
    group by 1, 2, 3, 4

),

callrail_rows as (

    select
        'callrail' as attribution_system,
        callrail_calls.account_id as scope_id,
        callrail_calls.marketing_source || '/'
        || callrail_calls.marketing_medium || '/'
        || callrail_calls.campaign_name as campaign_key,
        callrail_calls.campaign_name,
        callrail_calls.marketing_source,
        callrail_calls.marketing_medium,
        callrail_calls.call_count,
        callrail_calls.answered_call_count,
        callrail_calls.first_call_count,
        callrail_calls.matched_call_count,
        coalesce(callrail_jobs.job_count, 0) as job_count,
        coalesce(callrail_jobs.job_count, 0) as call_attributed_job_count,
        coalesce(callrail_jobs.completed_job_count, 0) as completed_job_count,
        coalesce(callrail_jobs.revenue, 0) as revenue,
        coalesce(callrail_jobs.paid_revenue, 0) as paid_revenue,
        coalesce(callrail_jobs.revenue, 0) as call_attributed_revenue
    from callrail_calls
    left join callrail_jobs
        on
            callrail_calls.account_id = callrail_jobs.account_id
            and callrail_calls.marketing_source = callrail_jobs.marketing_source
            and callrail_calls.marketing_medium = callrail_jobs.marketing_medium
            and callrail_calls.campaign_name = callrail_jobs.campaign_name

),

servicetitan_rows as (

    select
        'servicetitan' as attribution_system,
        attribution.tenant_id::text as scope_id,
        coalesce(attribution.st_campaign_id::text, 'none') as campaign_key,
        coalesce(attribution.st_campaign_name, 'none') as campaign_name,
        attribution.st_campaign_source as marketing_source,
        attribution.st_campaign_medium as marketing_medium,
        null::bigint as call_count,
        null::bigint as answered_call_count,
        null::bigint as first_call_count,
        null::bigint as matched_call_count,
        count(*) as job_count,
        count(*) filter (
            where attribution.is_call_attributed
        ) as call_attributed_job_count,
        count(*) filter (where attribution.is_completed) as completed_job_count,
        coalesce(sum(attribution.revenue), 0) as revenue,
        coalesce(sum(attribution.paid_revenue), 0) as paid_revenue,
        coalesce(
            sum(attribution.revenue) filter (
                where attribution.is_call_attributed
            ),
            0
        ) as call_attributed_revenue
    from attribution
    where attribution.is_counted
    group by 1, 2, 3, 4, 5, 6

),

unioned as (

    select * from callrail_rows
    union all
    select * from servicetitan_rows

),

final as (

    select
        ---------- ids
        attribution_system,
        scope_id,
        campaign_key,

        ---------- strings
        campaign_name,
        marketing_source,
        marketing_medium,

        ---------- numerics
        call_count::integer as call_count,
        answered_call_count::integer as answered_call_count,
        first_call_count::integer as first_call_count,
        matched_call_count::integer as matched_call_count,
        job_count::integer as job_count,
        call_attributed_job_count::integer as call_attributed_job_count,
        completed_job_count::integer as completed_job_count,
        revenue::numeric(14, 2) as revenue,
        paid_revenue::numeric(14, 2) as paid_revenue,
        call_attributed_revenue::numeric(14, 2) as call_attributed_revenue,
        (revenue / nullif(job_count, 0))::numeric(14, 2) as average_ticket

    from unioned

)

select * from final
