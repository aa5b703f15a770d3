"""Delivery reports, applied to a message the same way whether a callback or the reconciler brought them."""
