from dvlite.cli.main import main

main()
