{#- Change capture for the incremental CRM models: one row per raw VERSION of
    the GoHighLevel records they read, with its load. -#}
{{ record_versions('gohighlevel', {
    'contacts': {'table': 'ghl_contacts'},
    'opportunities': {'table': 'ghl_opportunities'},
}) }}
