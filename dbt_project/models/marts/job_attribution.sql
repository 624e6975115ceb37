{#- Last-touch call attribution of ServiceTitan jobs. A job is attributed to the
    latest inbound CallRail call from the CRM contact of the job's customer (any
    of the person's numbers) that started at most
    `marts_attribution_window_days` (default 7) before the job was created, on a
    CallRail account of the job's tenant. Accounts are tied to tenants by their
    tracking numbers, which ServiceTitan lists on its campaigns; an account no
    number ties may attribute to any tenant. The job's revenue is the sum of its
    active invoices' totals. -#}
{{
    config(
        materialized='incremental',
        unique_key='job_key',
        incremental_strategy='delete+insert',
        pre_hook="{{ full_build_hints(incremental_too=true) }}",
    )
}}
{%- set window_days = var('marts_attribution_window_days', 7) -%}

-- change capture (used only by incremental runs):
-- depends_on: {{ ref('stg_servicetitan__loads') }}

-- int_contact_records_matched and activities are read where they are used:
-- as import CTEs, referenced twice or more, PostgreSQL would copy them whole
-- (millions of rows) on every incremental run. jobs and invoices are import
-- CTEs kept from being copied (not materialized): at 1,000,000 customers the
-- copies were 2.2 M rows each (its incremental select: 12.1 -> 9.5 s).
with

jobs_all as not materialized (

    select * from {{ ref('jobs') }}

),

invoices as not materialized (

    select * from {{ ref('invoices') }}

),

campaigns as (

    select * from {{ ref('campaigns') }}

),

calls as (

    select * from {{ ref('int_callrail_calls_persisted') }}

),

trackers as (

    select * from {{ ref('stg_callrail__trackers') }}

),

companies as (

    select * from {{ ref('stg_callrail__companies') }}

),

campaign_numbers as (

    select
        campaigns.tenant_id,
        campaign_number.phone
    from campaigns
    cross join
        lateral unnest(
            {{ crm_jsonb_phone_array('campaigns.campaign_phone_numbers') }}
        ) as campaign_number (phone)

),

tracker_numbers as (

    select
        trackers.account_id,
        tracker_number.phone
    from trackers
    cross join
        lateral unnest(trackers.tracking_phones) as tracker_number (phone)

),

mapped_accounts as (

    select distinct
        tracker_numbers.account_id,
        campaign_numbers.tenant_id
    from tracker_numbers
    inner join campaign_numbers
        on tracker_numbers.phone = campaign_numbers.phone

),

accounts as (

    select trackers.account_id from trackers
    union
    select companies.account_id from companies

),

unmapped_accounts as (

    select accounts.account_id
    from accounts
    left join mapped_accounts
        on accounts.account_id = mapped_accounts.account_id
    where mapped_accounts.account_id is null

),

tenants as (

    select distinct campaigns.tenant_id
    from campaigns

),

account_tenants as (

    select
        mapped_accounts.account_id,
        mapped_accounts.tenant_id
    from mapped_accounts

    union all

    -- an account no tracking number ties to a tenant may attribute to any
    -- tenant
    select
        unmapped_accounts.account_id,
        tenants.tenant_id
    from unmapped_accounts
    cross join tenants

),

mapping as (

    -- which account may attribute to which tenant, as one value: when it
    -- changes, every job is redone
    select
        md5(
            coalesce(
                string_agg(
                    account_tenants.account_id
                    || '>'
                    || account_tenants.tenant_id,
                    ','
                    order by
                        account_tenants.account_id, account_tenants.tenant_id
                ),
                ''
            )
        ) as fingerprint
    from account_tenants

),

{% if is_incremental() %}
    {#- catalog queries at compile time, once for the two filters on each -#}
    {%- set batch_watermark = watermark('batch_at', 'timestamptz') %}
    {%- set load_watermark = watermark('last_load_id') %}

    previous_mapping as (

        select {{ newest_written('mapping_fingerprint') }} as fingerprint

    ),

    redone_records as (

        select links.*
        from {{ ref('int_contact_records_matched') }} as links
        where links.batch_at > {{ batch_watermark }}

    ),

    relinked_jobs as (

        -- jobs of the customers the matching rewrote that show another contact
        -- than the customer's record has now (this table's (tenant_id,
        -- customer_id) index, customer by customer)
        select relinked.tenant_id, relinked.job_id
        from redone_records
        cross join lateral (
            select previous.tenant_id, previous.job_id
            from {{ this }} as previous
            where
                previous.tenant_id = redone_records.source_scope::bigint
                and previous.customer_id = redone_records.source_id::bigint
                and previous.contact_id is distinct from redone_records.contact_id
            offset 0  -- noqa: AM09
        ) as relinked
        where redone_records.source_system = 'servicetitan'

    ),

    redone_calls as (

        -- calls activities rewrote since this model last ran: new ones, and
        -- those that changed, moved to another contact or were deleted
        select
            activities.contact_id,
            activities.source_scope as callrail_account_id,
            activities.source_id as callrail_call_id,
            activities.occurred_at
        from {{ ref('activities') }} as activities
        where
            activities.batch_at > {{ batch_watermark }}
            and activities.activity_type = 'call'

    ),

    attributed_jobs as (

        -- jobs whose last touch is one of those calls
        select previous.tenant_id, previous.job_id
        from (
            {{ lookup(
                this,
                'redone_calls',
                ['callrail_account_id', 'callrail_call_id'],
            ) }}
        ) as previous

    ),

    call_windows as (

        -- a call can become the last touch only of its contact's jobs created
        -- from its start until the attribution window after it
        select
            redone_calls.contact_id,
            min(redone_calls.occurred_at) as window_start,
            max(redone_calls.occurred_at)
            + interval '{{ window_days }} days' as window_end
        from redone_calls
        where redone_calls.contact_id is not null
        group by 1

    ),

    called_jobs as (

        select
            customer_jobs.tenant_id,
            customer_jobs.job_id
        from call_windows
        cross join lateral (
            select
                customers.source_scope::bigint as tenant_id,
                customers.source_id::bigint as customer_id
            from {{ ref('int_contact_records_matched') }} as customers
            where
                customers.contact_id = call_windows.contact_id
                and customers.source_system = 'servicetitan'
            offset 0  -- noqa: AM09
        ) as called_customers
        cross join lateral (
            select jobs.tenant_id, jobs.job_id
            from {{ ref('jobs') }} as jobs
            where
                jobs.tenant_id = called_customers.tenant_id
                and jobs.customer_id = called_customers.customer_id
                and jobs.created_at
                between call_windows.window_start and call_windows.window_end
            offset 0  -- noqa: AM09
        ) as customer_jobs

    ),

    job_keys as (

        select
            jobs_all.tenant_id,
            jobs_all.job_id
        from jobs_all
        where jobs_all.last_load_id > {{ load_watermark }}
        union
        select
            invoices.tenant_id,
            invoices.job_id
        from invoices
        where
            invoices.last_load_id > {{ load_watermark }}
            and invoices.job_id is not null
        union
        select relinked_jobs.tenant_id, relinked_jobs.job_id from relinked_jobs
        union
        select attributed_jobs.tenant_id, attributed_jobs.job_id
        from attributed_jobs
        union
        select called_jobs.tenant_id, called_jobs.job_id from called_jobs
        union
        select
            jobs_all.tenant_id,
            jobs_all.job_id
        from jobs_all
        cross join mapping
        cross join previous_mapping
        where mapping.fingerprint is distinct from previous_mapping.fingerprint

    ),

    jobs as (

        {{ lookup(ref('jobs'), 'job_keys', ['tenant_id', 'job_id']) }}

    ),

{% else %}

    jobs as (

        select * from jobs_all

    ),

{% endif %}

{#- An incremental run reads the customers' contacts, the contacts' calls and
    the jobs' invoices key by key through their indexes (lookup); joined
    whole, the planner hints above made it scan the 2 M matched records, the
    9 M activities and the 2.2 M invoices on every run (select 14.6 -> 9.9 s at
    1,000,000 customers). -#}
job_contacts as (

    select
        jobs.*,
        links.contact_id
    from jobs
    {% if is_incremental() %}
        left join lateral (
            select customer_links.contact_id
            from {{ ref('int_contact_records_matched') }} as customer_links
            where
                customer_links.source_system = 'servicetitan'
                and customer_links.source_scope = jobs.tenant_id::text
                and customer_links.source_id = jobs.customer_id::text
            offset 0  -- noqa: AM09
        ) as links on true
    {% else %}
        left join {{ ref('int_contact_records_matched') }} as links
            on
                links.source_system = 'servicetitan'
                and jobs.tenant_id::text = links.source_scope
                and jobs.customer_id::text = links.source_id
    {% endif %}

),

contact_activities as (

    {% if is_incremental() %}
        {{ lookup(ref('activities'), 'job_contacts', ['contact_id']) }}
    {% else %}
        select activities.*
        from {{ ref('activities') }} as activities
        where
            activities.contact_id in (
                select job_contacts.contact_id from job_contacts
            )
    {% endif %}

),

contact_calls as (

    select
        contact_activities.contact_id,
        account_tenants.tenant_id,
        contact_activities.source_scope as account_id,
        contact_activities.source_id as call_id,
        contact_activities.occurred_at as started_at
    from contact_activities
    inner join account_tenants
        on contact_activities.source_scope = account_tenants.account_id
    where
        contact_activities.activity_type = 'call'
        and contact_activities.direction = 'inbound'
        and contact_activities.contact_id is not null
        and not contact_activities.is_deleted

),

job_invoices as (

    {% if is_incremental() %}
        {{ lookup(ref('invoices'), 'jobs', ['tenant_id', 'job_id']) }}
    {% else %}
        select invoices.*
        from jobs
        inner join invoices
            on
                jobs.tenant_id = invoices.tenant_id
                and jobs.job_id = invoices.job_id
    {% endif %}

),

job_revenue as (

    select
        job_invoices.tenant_id,
        job_invoices.job_id,
        count(*) as invoice_count,
        sum(job_invoices.total) as revenue,
        sum(job_invoices.paid_amount) as paid_revenue
    from job_invoices
    where job_invoices.is_active and not job_invoices.is_deleted
    group by 1, 2

),

events as (

    -- calls and jobs of a contact at one tenant in time order; a call at the
    -- very instant a job is created comes first
    select
        contact_calls.contact_id,
        contact_calls.tenant_id,
        contact_calls.started_at as event_at,
        0 as event_order,
        null::bigint as job_id
    from contact_calls

    union all

    select
        job_contacts.contact_id,
        job_contacts.tenant_id,
        job_contacts.created_at as event_at,
        1 as event_order,
        job_contacts.job_id
    from job_contacts
    where job_contacts.contact_id is not null

),

last_calls as (

    select
        events.tenant_id,
        events.job_id,
        events.contact_id,
        events.event_at as job_created_at,
        max(case when events.event_order = 0 then events.event_at end) over (
            partition by events.contact_id, events.tenant_id
            order by events.event_at, events.event_order
            rows between unbounded preceding and current row
        ) as last_call_at
    from events

),

candidate_calls as (

    -- the calls at the latest call time (two calls in the same instant: the
    -- lowest account and call id wins)
    select
        last_calls.tenant_id,
        last_calls.job_id,
        contact_calls.account_id,
        contact_calls.call_id,
        contact_calls.started_at,
        row_number() over (
            partition by last_calls.tenant_id, last_calls.job_id
            order by contact_calls.account_id, contact_calls.call_id
        ) as call_rank
    from last_calls
    inner join contact_calls
        on
            last_calls.contact_id = contact_calls.contact_id
            and last_calls.tenant_id = contact_calls.tenant_id
            and last_calls.last_call_at = contact_calls.started_at
    where
        last_calls.job_id is not null
        and last_calls.last_call_at
        >= last_calls.job_created_at - interval '{{ window_days }} days'

),

attributed as (

    select * from candidate_calls
    where call_rank = 1

),

attributed_calls as (

    -- the attributed calls' details
    {% if is_incremental() %}
        {{ lookup('calls', 'attributed', ['account_id', 'call_id']) }}
    {% else %}
        select calls.*
        from calls
        where
            (calls.account_id, calls.call_id) in (
                select
                    attributed.account_id,
                    attributed.call_id
                from attributed
            )
    {% endif %}

),

final as (

    select
        ---------- ids
        job_contacts.job_key,
        job_contacts.tenant_id,
        job_contacts.job_id,
        job_contacts.customer_id,
        job_contacts.contact_id,
        job_contacts.campaign_id as st_campaign_id,
        attributed.account_id as callrail_account_id,
        attributed.call_id as callrail_call_id,
        calls.tracker_id as callrail_tracker_id,

        ---------- strings
        job_contacts.job_number,
        job_contacts.job_status,
        campaigns.campaign_name as st_campaign_name,
        campaigns.campaign_source as st_campaign_source,
        campaigns.campaign_medium as st_campaign_medium,
        calls.source as call_source,
        calls.medium as call_medium,
        calls.campaign as call_campaign,

        ---------- numerics
        coalesce(job_revenue.invoice_count, 0)::integer as invoice_count,
        coalesce(job_revenue.revenue, 0)::numeric(14, 2) as revenue,
        coalesce(job_revenue.paid_revenue, 0)::numeric(14, 2) as paid_revenue,
        (
            extract(epoch from job_contacts.created_at - attributed.started_at)
            / 3600.0
        )::numeric(10, 2) as hours_from_call_to_job,

        ---------- booleans
        attributed.call_id is not null as is_call_attributed,
        coalesce(
            job_contacts.is_active
            and not job_contacts.is_deleted
            and job_contacts.job_status <> 'Canceled',
            false
        ) as is_counted,
        coalesce(job_contacts.job_status = 'Completed', false) as is_completed,

        ---------- timestamps
        job_contacts.created_at,
        job_contacts.completed_at,
        attributed.started_at as call_started_at,

        ---------- run bookkeeping (incremental cursors)
        mapping.fingerprint as mapping_fingerprint,
        {{ run_batch_at() }} as batch_at,
        {{ latest_completed_load('servicetitan') }} as last_load_id

    from job_contacts
    left join attributed
        on
            job_contacts.tenant_id = attributed.tenant_id
            and job_contacts.job_id = attributed.job_id
    left join attributed_calls as calls
        on
            attributed.account_id = calls.account_id
            and attributed.call_id = calls.call_id
    left join campaigns
        on
            job_contacts.tenant_id = campaigns.tenant_id
            and job_contacts.campaign_id = campaigns.campaign_id
    left join job_revenue
        on
            job_contacts.tenant_id = job_revenue.tenant_id
            and job_contacts.job_id = job_revenue.job_id
    cross join mapping

)

select * from final
