"""Runtime backbone shared by every part of the platform: settings, logging and the local stack."""
