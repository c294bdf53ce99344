"""In-app notifications (and e-mail when SMTP is set): reminders the daily job sends once."""
