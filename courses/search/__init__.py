"""Course-material search: the indexes kept current from the catalogue, and the search page's
retrieval over them."""
