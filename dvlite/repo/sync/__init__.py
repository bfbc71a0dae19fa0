"""Moving data between the cache and a remote: push, fetch, pull, their plan, the run
cache's records, the objects known to be on a remote, and the remote checks."""
