"""The Weibo channel (the fans service platform's private messages to our account).

- `signature`: the platform's request signature (sha1 over the sorted app secret, timestamp
  and nonce), checked in constant time, with the replay window (pure, plus the nonce store).
- `views`: ``/webhooks/weibo/``: the URL check (GET, echostr) and the pushed messages (POST
  JSON); size before reading, signature, then the raw body stored before anything parses it.
- `parsing`: a pushed JSON body to `Inbound` values, or a refusal with its reason (pure).
- `intake`: the raw store and the filing through `tickets.actions.receive_many`.
- `outbound`: the reply API sender and the reply window (`window_closes_at`).
"""
