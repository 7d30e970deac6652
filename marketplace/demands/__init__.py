"""Technology demands (技术需求): the demand side of the catalogue."""
