import DatapinCLI

Datapin.main()
