"""Data: the demo footage; InterHand2.6M read as released, and RepeHand evaluated on it."""
