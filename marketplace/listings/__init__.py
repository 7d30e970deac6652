"""Technology results (科技成果) and their IP: the supply side of the catalogue."""
