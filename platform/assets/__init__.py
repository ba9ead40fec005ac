"""Assets customers own (vehicles, audio systems, smart devices, membership cards …), typed by core and plugins."""
