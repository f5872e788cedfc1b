"""Reading and writing networks and results."""
