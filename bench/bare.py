"""The baseline: a bare imapclient loop that fetches just the new headers, nothing else.

    python bench/bare.py PORT USER PASSWORD LAST_UID [FOLDER]

Prints the number of messages fetched and the seconds the fetch itself took.
"""

import sys
import time

from imapclient import IMAPClient


def main() -> None:
    port, user, password, last_uid = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
    folder = sys.argv[5] if len(sys.argv) > 5 else "INBOX"
    imap = IMAPClient("127.0.0.1", port=port, ssl=False, timeout=30)
    imap.login(user, password)
    start = time.perf_counter()
    imap.select_folder(folder, readonly=True)
    uids = [uid for uid in imap.search(["UID", f"{last_uid + 1}:*"]) if uid > last_uid]
    fetched = imap.fetch(uids, [b"BODY.PEEK[HEADER]", b"FLAGS", b"INTERNALDATE", b"RFC822.SIZE"]) if uids else {}
    elapsed = time.perf_counter() - start
    imap.logout()
    print(len(fetched), f"{elapsed:.6f}")


if __name__ == "__main__":
    main()
