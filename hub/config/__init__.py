"""Configuration: the one typed settings table (settings) and the schema machinery that derives
environment names, flags, checks and README rows from it (settings_schema)."""
