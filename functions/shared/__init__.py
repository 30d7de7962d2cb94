"""Cross-capability plumbing: settings, errors, clock, logging, AWS clients, cursors."""
