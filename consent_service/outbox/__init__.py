"""The durable outbox: messages (webhooks, mail) written with the change that causes them.

A service that causes a message calls `enqueue(session, ...)` in the transaction of its change:
if the change commits, the message exists and will be delivered; if it rolls back, it never
existed (transactional outbox). `worker.OutboxWorker` claims due messages, hands each to the
channel that knows how to deliver it (`channels.Channel`), records every attempt, retries
failures with exponential backoff and jitter, and gives up after the channel's `max_age`.

Delivery is at least once and in order per destination: only the oldest undelivered message of
a destination can be claimed, and a claim is a lease, so a worker killed mid-delivery loses
nothing (its lease runs out and another worker delivers the message again; receivers dedupe
by the message id, which is the `webhook-id` and the mail's `Message-ID`).
"""
