"""Read-only queries of the training feature: what the pages, exports and home pages show."""
