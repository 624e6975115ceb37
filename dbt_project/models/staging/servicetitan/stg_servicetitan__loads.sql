{#- Completed dlt loads of the servicetitan source: the cursor of the incremental models. -#}
{{ completed_loads('servicetitan') }}
