"""IAM policies vpcflow itself needs, shipped as package data: ``audit.json`` (read-only) and ``enable.json``."""
