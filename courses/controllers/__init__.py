"""Request handlers of the training feature: parse, check access, call an operation, render."""
