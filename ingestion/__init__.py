"""Ingestion: the synthetic operator (generator + producer) and the Kafka → PostgreSQL raw loader."""
