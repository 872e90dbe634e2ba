"""Benchmarks of Étanche: the cost of protection, measured against a plaintext baseline."""
