{#- Completed dlt loads of the servicetitan source: the incremental
    models' cursor. -#}
{{ completed_loads('servicetitan') }}
