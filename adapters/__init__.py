"""The outside world as the app uses it: file storage (local disk, S3), metrics, logs."""
