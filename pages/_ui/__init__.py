"""Shared UI helpers for the pages: session, formatting, the log form, pickers."""
