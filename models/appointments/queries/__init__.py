"""Reading the calendar: appointments with their provider (`appointments`), and a provider's
windows and bookings (`availability`)."""
