"""Agenda: appointments, personal reminders, the prevention calendar, and the daily reminder fan-out."""
