"""The HTTP edge beside app.py: request helpers, route declarations and one route module per capability.
`chalice package` ships this package with app.py; `functions/` never imports it."""
