{{ servicetitan_custom_field_types('job') }}
