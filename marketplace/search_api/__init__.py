"""Search over the catalogue: HTTP routes, document mapping, index sync jobs and the reindex command."""
