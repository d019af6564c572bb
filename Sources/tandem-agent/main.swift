import TandemAgent

// The annotation picks ArgumentParser's async entry point over the synchronous one.
let entry: ([String]?) async -> Void = AgentCommand.main
await entry(nil)
