"""The shared core: access control, audit log, search and embeddings."""
