{#- Completed dlt loads of the gohighlevel source: the incremental
    models' cursor. -#}
{{ completed_loads('gohighlevel') }}
