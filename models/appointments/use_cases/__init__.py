"""What the API does with appointments: book, reschedule, cancel and read them, and the free
slots of a day (`appointments`); the lifecycle's status changes (`lifecycle`)."""
