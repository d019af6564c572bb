import TandemCLI

TandemCommand.main()
