"""Accounts: users, roles, sign-in, registration and user administration."""
