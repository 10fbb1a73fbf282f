"""Where flow logs come from: local files and folders, S3, CloudWatch Logs and standard input."""
