"""Email: intake (pipe, folder, IMAP, SMTP), pure parsing of raw messages, outbound replies."""
