"""Reports for the city: catalogue and deal figures, the contract-registration export and the operator dashboard."""
