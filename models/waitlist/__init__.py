"""The waitlist: patients waiting for a provider's (or a specialty's) time, and the offers of
freed slots made to them; first to accept books the slot through the appointments' rules."""
