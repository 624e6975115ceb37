-- Change history for the tables people edit: every insert, update and delete on the editable
-- crm.* and workflow.* tables writes one audit.change_log row with the old and new row as jsonb.
-- depends: 0004_audit_tables 0005_workflow_tables 0006_crm_editable_tables

create or replace function audit.log_change() returns trigger
language plpgsql as $$
declare
    old_row jsonb := case when tg_op in ('UPDATE', 'DELETE') then to_jsonb(old) end;
    new_row jsonb := case when tg_op in ('INSERT', 'UPDATE') then to_jsonb(new) end;
begin
    -- An update that changes nothing but updated_at is a re-run, not an edit: keep history clean.
    if tg_op = 'UPDATE' and old_row - 'updated_at' = new_row - 'updated_at' then
        return null;
    end if;
    insert into audit.change_log (
        schema_name, table_name, operation, row_key, old_data, new_data,
        changed_by, session_user_name, actor, application_name
    ) values (
        tg_table_schema, tg_table_name, tg_op,
        jsonb_build_object('id', coalesce(new_row, old_row) -> 'id'),
        old_row, new_row,
        current_user, session_user,
        nullif(current_setting('lazi.actor', true), ''),
        nullif(current_setting('application_name', true), '')
    );
    return null;
end
$$;

-- Later migrations call this for each new editable table.
create or replace function audit.enable_change_log(p_table regclass) returns void
language plpgsql as $$
begin
    execute format('drop trigger if exists change_log on %s', p_table);
    execute format(
        'create trigger change_log after insert or update or delete on %s '
        'for each row execute function audit.log_change()', p_table);
end
$$;

do $$
begin
    perform audit.enable_change_log(t::regclass)
    from unnest(array[
        'crm.pricebook_overrides',
        'workflow.definitions',
        'workflow.stage_actions',
        'workflow.field_mappings',
        'workflow.transformations',
        'workflow.merge_rules',
        'workflow.messaging_templates'
    ]) as t;
end
$$;
