#!/usr/bin/env python3
"""scitacean's download_files of one dataset over SFTP, for the sftp benchmark case.

Usage: scitacean_download.py SCICAT-V3-BASE PID SSH-USER SSH-PORT KEY-FILE TARGET

Reads the dataset from the loopback SciCat anonymously (scitacean asks its v4 public route),
then downloads every file with scitacean's SFTPFileTransfer (paramiko, the host checked
against ~/.ssh/known_hosts) into TARGET, one flat folder, verifying each file's checksum.
"""

import sys

from scitacean import Client
from scitacean.transfer.sftp import SFTPFileTransfer


def main():
    base, pid, user, port, key, target = sys.argv[1:7]
    transfer = SFTPFileTransfer(host="127.0.0.1", port=int(port), username=user, key_filename=key)
    client = Client.without_login(url=base, file_transfer=transfer, allow_http=True)
    dataset = client.get_dataset(pid)
    client.download_files(dataset, target=target, checksum_algorithm="sha256")


if __name__ == "__main__":
    main()
