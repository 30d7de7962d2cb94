"""Mon espace santé backend: framework-free capabilities behind a thin Chalice edge."""
