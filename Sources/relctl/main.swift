import RelctlCLI

Relctl.runMain()
