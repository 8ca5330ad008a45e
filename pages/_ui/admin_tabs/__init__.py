"""The tabs of the admin page, one module each: dictionaries, people, organisation settings,
the audit log, backup and import. Each draws its tab for the signed-in admin (`render`)."""
