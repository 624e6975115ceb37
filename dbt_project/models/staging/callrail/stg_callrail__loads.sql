{#- Completed dlt loads of the callrail source: the incremental
    models' cursor. -#}
{{ completed_loads('callrail') }}
