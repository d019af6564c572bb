import TandemAgent

await AgentCommand.runFromCommandLine()
