"""State-changing operations of the training feature: they take a session and the acting user,
validate, `flush()` and never commit, and raise `CourseError` with a message fit for the user."""
