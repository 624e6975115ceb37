{#- Push 4, ServiceTitan pricebook <- crm.pricebook_overrides: one row per
    pending override, with the fields workflow.field_mappings chooses (source
    entity sync_servicetitan_pricebook, destination servicetitan
    pricebook_items; a null override value is not sent), each converted by its
    mapping's transformation. The hash covers the sent fields and the
    override's updated_at: an override edited (or marked pending again) is a
    new decision to send, even with the same values; once delivered it is no
    longer pending and leaves this model. -#}
with

overrides as (

    select * from {{ ref('stg_crm_editable__pricebook_overrides') }}

),

mappings as (

    select * from {{ ref('stg_workflow__field_mappings') }}

),

available as (

    -- every value a mapping row may choose, under its source_field name
    select
        overrides.override_id,
        overrides.tenant_id,
        overrides.item_type,
        overrides.st_pricebook_id,
        overrides.updated_at,
        jsonb_strip_nulls(
            jsonb_build_object(
                'override_price', overrides.override_price,
                'override_member_price', overrides.override_member_price,
                'override_cost', overrides.override_cost,
                'reason', overrides.reason
            )
        ) as item_fields
    from (
        select
            override_id,
            tenant_id,
            item_type,
            st_pricebook_id,
            override_price,
            override_member_price,
            override_cost,
            reason,
            updated_at
        from overrides
        where pending_sync
    ) as overrides

),

payloads as (

    select
        available.override_id,
        available.tenant_id,
        available.item_type,
        available.st_pricebook_id,
        available.updated_at,
        coalesce(
            jsonb_object_agg(
                mappings.dest_field,
                {{ apply_transformation(
                    'available.item_fields -> mappings.source_field',
                    'mappings.transform_rules'
                ) }}
            ) filter (where mappings.dest_field is not null),
            '{}'::jsonb
        ) as payload
    from available
    left join mappings
        on
            mappings.source_entity = 'sync_servicetitan_pricebook'
            and mappings.dest_system = 'servicetitan'
            and mappings.dest_entity = 'pricebook_items'
            and available.item_fields ? mappings.source_field
    group by 1, 2, 3, 4, 5

),

final as (

    select
        ---------- ids
        concat_ws(
            '/',
            payloads.tenant_id,
            payloads.item_type,
            payloads.st_pricebook_id
        ) as entity_id,
        payloads.override_id,
        payloads.tenant_id,
        payloads.item_type,
        payloads.st_pricebook_id,

        ---------- strings
        md5(
            payloads.payload::text || extract(epoch from payloads.updated_at)
        ) as content_hash,

        ---------- json
        payloads.payload,
        null::jsonb as read_state,

        ---------- timestamps
        payloads.updated_at as override_updated_at

    from payloads

)

select * from final
