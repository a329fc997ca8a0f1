"""The expert pool: experts' technical files, their life cycle, vetting, imports and coverage."""
