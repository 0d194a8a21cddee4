"""The bottom of the house: settings, the database's units of work, the clock and the kinds of
error. Every other package may import it; it imports none of them."""
