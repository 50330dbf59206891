"""What mailtriage does, built from the layers below: the check, follow-up, the summary, the daemon."""
