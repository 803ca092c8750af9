from ingestion.cli import main

main()
