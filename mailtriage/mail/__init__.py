"""The network edges: IMAP reading, SMTP sending, composing replies, naming network failures."""
