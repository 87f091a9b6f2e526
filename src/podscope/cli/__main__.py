from podscope.cli import main

main()
