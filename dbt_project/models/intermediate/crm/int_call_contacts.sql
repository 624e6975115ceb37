{#- The CRM contact of every CallRail call (null when no contact holds the
    caller's number), narrow, so that marts.campaign_attribution counts the
    matched calls without reading the whole of crm.activities (9 M wide rows at
    1,000,000 customers) after every load.

    Incremental (delete+insert on account_id, call_id): a run takes the call
    activities crm.activities wrote since this table's newest batch_at (calls
    never disappear: a deleted call stays, flagged). -#}
{{
    config(
        materialized='incremental',
        unique_key=['account_id', 'call_id'],
        incremental_strategy='delete+insert',
    )
}}

select
    activities.source_scope as account_id,
    activities.source_id as call_id,
    activities.contact_id,
    activities.batch_at
from {{ ref('activities') }} as activities
where activities.activity_type = 'call'
{% if is_incremental() %}
    and activities.batch_at > {{ watermark('batch_at', 'timestamptz') }}
{% endif %}
