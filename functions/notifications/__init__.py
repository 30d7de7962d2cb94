"""In-app notifications to the holder (new document today; reminders and alerts later)."""
