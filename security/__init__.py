"""Authentication, authorization and the other security concerns, one small module each."""
