from satellite.cli import main

main()
