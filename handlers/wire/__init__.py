"""How values look on the wire: one module per spec tag, and the formats they share."""
