"""Web chat: the customer's socket watches the ticket's group and resumes from storage."""


def send(message) -> None:
    """Nothing to push: the commit-time broadcast (tickets.live) already reached the
    customer's socket, and a customer who was offline gets the message on `resume`."""
