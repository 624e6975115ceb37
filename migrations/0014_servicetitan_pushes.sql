-- Reverse ETL to ServiceTitan (push 2, customers <- GoHighLevel; push 4, pricebook <-
-- crm.pricebook_overrides) and declarative value conversions (workflow.transformations) that
-- a field mapping may name: their kinds are a fixed set implemented by the dbt macro
-- apply_transformation, never code stored in a row.
-- depends: 0005_workflow_tables 0006_crm_editable_tables 0012_reverse_etl_queue

-- rules: the steps applied in order, each {"kind": …} plus that kind's settings (README,
-- "Reverse ETL"). A kind outside the set is refused here rather than ignored at build time.
alter table workflow.transformations
add constraint transformations_rules_check check (
    jsonb_typeof(rules) = 'array'
    and jsonb_array_length(rules) between 1 and 3
    and not jsonb_path_exists(
        rules,
        '$[*] ? (!(@.kind == "to_string" || @.kind == "money_to_string"
            || @.kind == "round" || @.kind == "phone_e164" || @.kind == "date_iso"
            || @.kind == "timestamp_iso" || @.kind == "lowercase" || @.kind == "uppercase"
            || @.kind == "trim" || @.kind == "value_map"))'
    )
);

insert into workflow.transformations (name, source_type, dest_type, rules) values
('money_to_string', 'numeric', 'string', '[{"kind": "money_to_string"}]'),
('money', 'numeric', 'number', '[{"kind": "round", "digits": 2}]'),
('phone_e164', 'string', 'string', '[{"kind": "phone_e164", "country_code": "1"}]'),
('date_iso', 'timestamp', 'string', '[{"kind": "date_iso"}]'),
('timestamp_iso', 'timestamp', 'string', '[{"kind": "timestamp_iso"}]'),
('to_string', 'any', 'string', '[{"kind": "to_string"}]'),
('email_lowercase', 'string', 'string', '[{"kind": "trim"}, {"kind": "lowercase"}]')
on conflict (name) do nothing;

-- Push 3 sends CallRail the call's value as the string CallRail itself answers ("12.50").
update workflow.field_mappings set transform = 'money_to_string'
where
    source_entity = 'sync_callrail_calls' and source_field = 'revenue'
    and dest_system = 'callrail' and dest_field = 'value' and transform is null;

-- Push 2: the GoHighLevel contact linked to each ServiceTitan customer, written into the
-- customer's externalData (dest_field externalData.<key>, under the integration's
-- application guid); other dest_fields are UpdateCustomerRequest members.
insert into workflow.field_mappings (
    source_system, source_entity, source_field, dest_system, dest_entity, dest_field,
    direction, transform
) values
(
    'warehouse', 'sync_servicetitan_customers', 'ghl_contact_id', 'servicetitan', 'customers',
    'externalData.ghl_contact_id', 'outbound', null
),
(
    'warehouse', 'sync_servicetitan_customers', 'ghl_location_id', 'servicetitan',
    'customers', 'externalData.ghl_location_id', 'outbound', null
),
-- Push 4: the override's values to the pricebook item (PATCH materials|services|equipment).
(
    'warehouse', 'sync_servicetitan_pricebook', 'override_price', 'servicetitan',
    'pricebook_items', 'price', 'outbound', 'money'
),
(
    'warehouse', 'sync_servicetitan_pricebook', 'override_member_price', 'servicetitan',
    'pricebook_items', 'memberPrice', 'outbound', 'money'
),
(
    'warehouse', 'sync_servicetitan_pricebook', 'override_cost', 'servicetitan',
    'pricebook_items', 'cost', 'outbound', 'money'
),
-- GoHighLevel tag (source_field) -> ServiceTitan tag type name (dest_field): a customer whose
-- linked contact carries the tag gets the tag type (added, never removed).
(
    'gohighlevel', 'contact_tags', 'maintenance-plan', 'servicetitan', 'tag_types', 'Member',
    'outbound', null
)
on conflict do nothing;

-- An override the vendor refused stays pending with the vendor's message here; a delivery
-- clears it and marks the override synced.
alter table crm.pricebook_overrides add column sync_error text;

-- An override whose item or values change is a new decision to send: pending again, the old
-- error gone (unless the same statement sets pending_sync itself, as reverse ETL does).
create function crm.pricebook_override_pending() returns trigger
language plpgsql as $$
begin
    if (new.tenant_id, new.item_type, new.st_pricebook_id, new.override_price,
        new.override_member_price, new.override_cost)
        is distinct from
        (old.tenant_id, old.item_type, old.st_pricebook_id, old.override_price,
        old.override_member_price, old.override_cost)
        and new.pending_sync is not distinct from old.pending_sync then
        new.pending_sync := true;
        new.sync_error := null;
    end if;
    return new;
end
$$;

create trigger pricebook_overrides_pending before update on crm.pricebook_overrides
for each row execute function crm.pricebook_override_pending();

grant update (pending_sync, last_synced_at, sync_error) on crm.pricebook_overrides
to lazi_reverse_etl;
