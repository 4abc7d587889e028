"""Forms of the agent workspace: the ticket page's forms (tickets) and its security
panel's (security). They check input and hand plain values to the actions."""
