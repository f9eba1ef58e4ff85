"""The imperative shell: one orchestrator, executors behind one protocol."""
