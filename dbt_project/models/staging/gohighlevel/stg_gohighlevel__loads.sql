{#- Completed dlt loads of the gohighlevel source: the cursor of the incremental models. -#}
{{ completed_loads('gohighlevel') }}
