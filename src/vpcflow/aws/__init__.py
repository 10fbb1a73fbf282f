"""Talking to AWS: sessions, clients and the translation of AWS errors into one sentence."""
