"""Sales: quotes and orders with Decimal totals, recorded payments and refunds, and the customer's spend."""
