"""Search: the read model patients find providers in (the directory, its filters, free days)."""
