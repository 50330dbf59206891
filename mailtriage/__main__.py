"""`python -m mailtriage` runs the same CLI as the `mailtriage` script."""

from mailtriage.cli.main import main

if __name__ == "__main__":
    main()
