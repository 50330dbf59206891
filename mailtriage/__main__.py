"""`python -m mailtriage` runs the same CLI as the `mailtriage` script."""

from mailtriage.cli import main

if __name__ == "__main__":
    main()
