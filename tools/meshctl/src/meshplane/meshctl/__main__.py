from meshplane.meshctl.cli import main

main()
