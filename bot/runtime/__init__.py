"""The running bot: wiring every part once (wiring), the tick and its scheduler, the background pool that lets acks go
first, memory release, and `python -m bot check`."""
