"""The calendar's pure rules: the slot grid and free slots (`slots`), and what an appointment is
and what may be done to it when (`visits`)."""
