"""Reverse ETL: the warehouse's decisions written back to the vendors through
sync.outbound_queue.

- `enqueue`: desired state (a dbt `sync_*` model) minus what was last delivered
  (sync.entity_hashes) becomes queue rows, in one transaction with the hash bookkeeping.
- `queue`: claiming due rows under a lease with a fencing token, and every write that
  finishes a claim (conditional on the token).
- `rate_limit`: token buckets per vendor scope held in PostgreSQL, shared by every worker.
- `delivery`: one HTTP request and what its answer means (done, retry later, failed).
- `audit`: each request in audit.api_log.
- `conflicts`: a person's edit at the vendor since the last read is kept, not overwritten.
- `targets` / `callrail`: what each push sends and where.
- `worker`: the loop that ties them together; `push`: enqueue then deliver (CLI and flow).
"""
