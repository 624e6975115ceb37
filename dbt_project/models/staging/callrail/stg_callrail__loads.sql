{#- Completed dlt loads of the callrail source: the cursor of the incremental models. -#}
{{ completed_loads('callrail') }}
