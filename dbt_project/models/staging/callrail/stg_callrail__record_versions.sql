{#- Change capture for the incremental CRM models: one row per raw VERSION of a
    CallRail call or text-message conversation, with its load. -#}
{{ record_versions('callrail', {
    'calls': {'table': 'callrail_calls'},
    'text_messages': {'table': 'callrail_text_messages'},
}) }}
