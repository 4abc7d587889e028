"""Business operations on tickets: the spine every channel, the workspace, the API and the
chat stand on. Plain functions that take the acting user; each top-level action runs in one
transaction, records what it did (TicketEvent, AccountEvent) in it, and defers broadcasts
and deliveries to on_commit.

- `thread`: the one place Message rows are created, and the rules every message obeys
  (closed tickets, reopening, first answers, last activity); automatic notices and notes.
- `intake`: customers' messages from every channel (`receive`, `receive_many`).
- `replies`: agents' answers and notes (`reply`, `add_note`, `reply_many`).
- `lifecycle`: opening a ticket, assignment, status, details, SLA due times, ratings.
- `survey`: the "solved" notice of email tickets, with the satisfaction survey's link.
- `delivery`: outbound messages through their channel's sender, and what became of them.
- `recipients`: the Cc of email tickets, proposed by mail, accepted or removed by agents.
- `customers`: merging customers (it moves their tickets).
- `merging`: merging tickets (`merge_tickets`: messages, attachments and calls move).
- `opening`: a ticket opened for a known customer with their first message (the API).
- `calls`: a phone call an agent logged, or an outbound call, as a phone Message.
- `claims`: a typed contact's claimed customer, linked once an agent verifies it.
- `personal_data`: revealing a value a customer wrote in a message, audited (`reveal`).
- `payments`: a failed payment's explanation sent to the customer, the ticket marked.
- `wallets` and `wallet_events`: wallet security from the desk and from the wallet core.
"""

from .calls import record_call
from .claims import (
    answer_confirmation,
    claim_contact,
    claim_identity,
    link_claimed_customer,
    verify_caller,
)
from .customers import merge_customers
from .delivery import (
    MAX_DELIVERY_ATTEMPTS,
    deliver,
    deliver_message,
    enqueue_delivery,
    mark_delivery_failed,
    mark_shown,
    record_delivery,
)
from .intake import (
    Known,
    Received,
    Sender,
    open_for_customer,
    receive,
    receive_many,
    receive_with_replies,
    reprocess_inbound,
    write_for_customer,
)
from .lifecycle import (
    DETAILS,
    assign,
    assign_automatically,
    change_status,
    open_ticket,
    rate_by_link,
    record_rating,
    update_details,
    validate_rating,
)
from .merging import merge_tickets
from .opening import open_with_message
from .payments import explain_in_chat, mark_failed_payment, send_payment_explanation
from .personal_data import may_reveal, reason_needed, reveal
from .raw import read_raw
from .recipients import accept_cc, remove_cc
from .replies import Reply, Route, add_note, reply, reply_many, reply_routes
from .thread import (
    NOT_STORED,
    REOPENED_BY_CUSTOMER,
    Appended,
    TicketState,
    post_notice,
    post_system_note,
    takes,
)

__all__ = [
    "DETAILS",
    "MAX_DELIVERY_ATTEMPTS",
    "NOT_STORED",
    "REOPENED_BY_CUSTOMER",
    "Appended",
    "Known",
    "Received",
    "Reply",
    "Route",
    "Sender",
    "TicketState",
    "accept_cc",
    "add_note",
    "answer_confirmation",
    "assign",
    "assign_automatically",
    "change_status",
    "claim_contact",
    "claim_identity",
    "deliver",
    "deliver_message",
    "enqueue_delivery",
    "explain_in_chat",
    "link_claimed_customer",
    "mark_delivery_failed",
    "mark_failed_payment",
    "mark_shown",
    "may_reveal",
    "merge_customers",
    "merge_tickets",
    "open_for_customer",
    "open_ticket",
    "open_with_message",
    "post_notice",
    "post_system_note",
    "rate_by_link",
    "read_raw",
    "reason_needed",
    "receive",
    "receive_many",
    "receive_with_replies",
    "record_call",
    "record_delivery",
    "record_rating",
    "remove_cc",
    "reply",
    "reply_many",
    "reply_routes",
    "reprocess_inbound",
    "reveal",
    "send_payment_explanation",
    "takes",
    "update_details",
    "validate_rating",
    "verify_caller",
    "write_for_customer",
]
