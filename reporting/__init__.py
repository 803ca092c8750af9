"""Reporting: the pipeline's run history for the monitoring marts, and the static demo report."""
