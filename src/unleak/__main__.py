from unleak.cli import main

main()
