from formcheck.entry import main

main()
