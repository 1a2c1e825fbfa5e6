"""The CCV Shop REST client (signed requests, checked answers, paging, 429 waits) and a webhook receiver."""

from .client import Answer, CCVShopClient, CCVShopError, RateLimited, ShopUnavailable, SignatureError
from .models import Address, Customer, Invoice, Order, Row
from .webhooks import Received, WebhookReceiver, verify_webhook

__all__ = ["Address", "Answer", "CCVShopClient", "CCVShopError", "Customer", "Invoice", "Order", "RateLimited",
           "Received", "Row", "ShopUnavailable", "SignatureError", "WebhookReceiver", "verify_webhook"]
