-- Reverse ETL to GoHighLevel: push 1 (contacts <- ServiceTitan facts) and push 5
-- (opportunities <- ServiceTitan outcomes): their default field mappings and merge rules, and
-- the log of every contact upsert (what GoHighLevel answered: created or matched).
-- depends: 0012_reverse_etl_queue

-- Every POST /contacts/upsert the worker delivered, written in the transaction that marks its
-- queue row delivered. `created` is GoHighLevel's `new`: false when the upsert matched an
-- existing contact (by email or phone), e.g. the contact an earlier, killed delivery created.
create table sync.ghl_contact_upserts (
    id bigint generated always as identity primary key,
    queue_id bigint not null unique references sync.outbound_queue (id) on delete cascade,
    location_id text not null,
    entity_id text not null,
    ghl_contact_id text not null,
    created boolean not null,
    sent_at timestamptz not null default now()
);

create index ghl_contact_upserts_entity_idx on sync.ghl_contact_upserts (entity_id, sent_at);

grant select, insert, update, delete on sync.ghl_contact_upserts to lazi_reverse_etl;
grant usage, select on all sequences in schema sync to lazi_reverse_etl;

-- Push 1: which columns of marts.sync_ghl_contacts are written to which contact field. A
-- dest_field `customFields.<key>` is the location's custom field `contact.<key>` (created when
-- missing, named after the key). Adding a row adds a field to the next push.
insert into workflow.field_mappings (
    source_system, source_entity, source_field, dest_system, dest_entity, dest_field, direction
) values
(
    'warehouse', 'sync_ghl_contacts', 'st_customer_id', 'gohighlevel', 'contacts',
    'customFields.servicetitan_customer_id', 'outbound'
),
(
    'warehouse', 'sync_ghl_contacts', 'lifetime_value', 'gohighlevel', 'contacts',
    'customFields.st_lifetime_value', 'outbound'
),
(
    'warehouse', 'sync_ghl_contacts', 'completed_job_count', 'gohighlevel', 'contacts',
    'customFields.st_completed_jobs', 'outbound'
),
(
    'warehouse', 'sync_ghl_contacts', 'last_completed_job_date', 'gohighlevel', 'contacts',
    'customFields.st_last_completed_job', 'outbound'
),
(
    'warehouse', 'sync_ghl_contacts', 'open_estimate_total', 'gohighlevel', 'contacts',
    'customFields.st_open_estimate_total', 'outbound'
),
(
    'warehouse', 'sync_ghl_contacts', 'customer_type', 'gohighlevel', 'contacts',
    'customFields.st_customer_type', 'outbound'
),
('warehouse', 'sync_ghl_contacts', 'tags', 'gohighlevel', 'contacts', 'tags', 'outbound'),
(
    'warehouse', 'sync_ghl_contacts', 'first_name', 'gohighlevel', 'contacts', 'firstName',
    'outbound'
),
(
    'warehouse', 'sync_ghl_contacts', 'last_name', 'gohighlevel', 'contacts', 'lastName',
    'outbound'
),
('warehouse', 'sync_ghl_contacts', 'email', 'gohighlevel', 'contacts', 'email', 'outbound'),
('warehouse', 'sync_ghl_contacts', 'phone', 'gohighlevel', 'contacts', 'phone', 'outbound'),
-- Push 5: an open opportunity whose contact's job was sold or completed.
(
    'warehouse', 'sync_ghl_opportunities', 'won_stage_id', 'gohighlevel', 'opportunities',
    'pipelineStageId', 'outbound'
),
(
    'warehouse', 'sync_ghl_opportunities', 'won_status', 'gohighlevel', 'opportunities',
    'status', 'outbound'
),
(
    'warehouse', 'sync_ghl_opportunities', 'revenue', 'gohighlevel', 'opportunities',
    'monetaryValue', 'outbound'
)
on conflict do nothing;

-- Names, emails and phones are the contact's: a person's edit at GoHighLevel since the last
-- load stays (and becomes a sync.conflicts row). ServiceTitan facts and the st-* tags win. An
-- opportunity a person closed meanwhile (status) keeps their status.
insert into workflow.merge_rules (name, target_entity, sources, field_strategies) values
(
    'ghl_contacts',
    'ghl_contacts',
    '["warehouse", "gohighlevel"]',
    '{"firstName": "keep_remote", "lastName": "keep_remote", "email": "keep_remote",
      "phone": "keep_remote", "tags": "keep_warehouse", "customFields": "keep_warehouse"}'
),
(
    'ghl_opportunities',
    'ghl_opportunities',
    '["warehouse", "gohighlevel"]',
    '{"status": "keep_remote", "pipelineStageId": "keep_warehouse",
      "monetaryValue": "keep_warehouse"}'
)
on conflict (name) do nothing;
