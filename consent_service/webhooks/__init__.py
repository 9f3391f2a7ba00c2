"""Webhooks: an organisation's endpoints and the signed events delivered to them.

Events are written to the durable outbox (consent_service/outbox/) in the transaction of the
change that causes them (`service.publish`), one message per subscribed endpoint, and delivered
by the outbox worker through `channel.WebhookChannel` in the Standard Webhooks format
(https://www.standardwebhooks.com/: `webhook-id`, `webhook-timestamp`, `webhook-signature`),
signed with the `standardwebhooks` package.
"""
