"""zns-relay's core: a package per function (sender, callback, reconciler, status_events, status_api,
fallback) over what they share (models, store, esms, reports, config)."""
