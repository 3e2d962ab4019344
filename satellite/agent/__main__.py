from satellite.agent.cli import main

main()
