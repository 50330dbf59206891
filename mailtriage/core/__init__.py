"""Pure logic: addresses, business time, parsing, the guards and the words of replies. No I/O, no clock."""
