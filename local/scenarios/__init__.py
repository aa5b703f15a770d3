"""What runs on the local stack: the demo, the soak, and the crash points both arm."""
