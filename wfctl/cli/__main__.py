from wfctl.cli import main

main()
