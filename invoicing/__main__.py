from invoicing.cli import main

main()
