"""The phone hotline as a channel: calls logged by agents in the admin or reported by the
telephony system (`/api/calls/`), and callbacks the hotline owes (missed calls, customers'
requests from the web). Every call with notes ends in `tickets.actions.receive_many`, so
the caller's number finds their customer and their open ticket as any channel's sender
does; a number is a claim, never an identity."""
