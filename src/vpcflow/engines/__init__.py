"""Engines that run detection SQL: DuckDB over the store (default), Spark, and Athena."""
