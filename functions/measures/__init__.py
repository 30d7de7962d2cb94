"""Health measures: written by referenced apps over FHIR and by the person, read as latest values and history."""
