"""The WeChat official account channel.

- `crypto`: WeChat's signatures (plaintext and safe mode) and safe mode's AES-CBC envelope;
- `parsing`: a pure function from a message's XML to an `Inbound` (or a refusal);
- `intake`: raw first (InboundMessage), then parse and file through `receive_many`;
- `webhook`: /webhooks/wechat/, the transport (size, signature, time, nonce);
- `outbound`: agents' answers through the customer-service message API, and the 48-hour
  window (`window_closes_at`) the reply form and delivery respect.
"""
