{#- crm.pricebook_overrides, a table managers edit (migrations 0006 and 0014
    define its columns and checks), read as it is: the one place a model
    reads it from. -#}
with

overrides as (

    select * from {{ source('crm_editable', 'pricebook_overrides') }}

),

renamed as (

    select
        ---------- ids
        overrides.id as override_id,
        overrides.tenant_id,
        overrides.st_pricebook_id,

        ---------- strings
        overrides.item_type,
        overrides.reason,
        overrides.sync_error,
        overrides.created_by,

        ---------- numerics
        overrides.override_price,
        overrides.override_member_price,
        overrides.override_cost,

        ---------- booleans
        overrides.pending_sync,

        ---------- timestamps
        overrides.last_synced_at,
        overrides.created_at,
        overrides.updated_at

    from overrides

)

select * from renamed
