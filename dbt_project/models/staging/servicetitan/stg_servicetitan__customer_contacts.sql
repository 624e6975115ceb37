{{ servicetitan_contacts('customer') }}
