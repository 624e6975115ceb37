-- raw.ghl_webhook_events: GoHighLevel webhook events, one row per event (GHL's webhookId), written
-- by the receiver in dlt_pipelines/gohighlevel/webhooks.py. The rest of raw is dlt's; this table is
-- ours because events arrive one at a time over HTTP, not through a dlt load. A redelivered event
-- is not stored again (insert ... on conflict do nothing).
-- depends: 0009_raw_staging_for_dlt

create table if not exists raw.ghl_webhook_events (
    webhook_id text primary key,
    location_id text,
    event_type text not null,
    received_at timestamptz not null default now(),
    full_data jsonb not null
);

create index if not exists ghl_webhook_events_received_idx
on raw.ghl_webhook_events (received_at);

-- The receiver connects as the loader (it writes raw only); dbt reads the events.
grant select, insert on raw.ghl_webhook_events to lazi_loader;
grant select on raw.ghl_webhook_events to lazi_transformer;
