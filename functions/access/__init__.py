"""Who may read what in a record. The single place where access rules live."""
