"""The Streamlit dashboard over the reporting marts: `make dashboard` serves it on 127.0.0.1:8501."""
