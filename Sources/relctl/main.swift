import RelctlCLI

await Relctl.runMain()
