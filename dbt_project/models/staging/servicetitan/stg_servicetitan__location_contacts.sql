{{ servicetitan_contacts('location') }}
