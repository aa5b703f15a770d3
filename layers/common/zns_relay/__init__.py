"""zns-relay's core: a package per function (sender, reports for the callback, reconciler, status_events,
status_api, fallback), wired by composition, over what they share (store, esms, config, then models)."""
