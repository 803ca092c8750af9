"""Great Expectations suites for raw landing, mediation, rating and billing."""
