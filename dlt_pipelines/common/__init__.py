"""What the three vendor sources share: a polite HTTP client, the raw row layout, run bookkeeping.

Nothing here is shared with the API stand-ins in `lazi/sandbox`: the sources are written from the
vendors' documentation on their own, so a misreading in one side is caught by the other.
"""
