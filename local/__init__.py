"""Local runner: embedded moto server, queue pump, development token issuer, demo seed. Never deployed."""
