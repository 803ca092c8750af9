# Image for the platform's Python services (loader, Dagster) when running with `docker compose`.
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml constraints.txt README.md ./
COPY stack ./stack
COPY ingestion ./ingestion
COPY orchestration ./orchestration
COPY expectations ./expectations
COPY dbt_project ./dbt_project
RUN pip install --no-cache-dir -c constraints.txt . \
    # Dagster reads the dbt manifest; parsing needs no database
    && dbt parse --quiet --project-dir dbt_project --profiles-dir dbt_project \
    && chown -R nobody dbt_project
USER nobody
CMD ["python", "-m", "ingestion", "load", "run"]
