"""Reads the loopback SciCat (Tests/TestSupport/FakeSciCat.swift) with pyscicat and scitacean.

Usage: scicat_check.py V3_BASE TOKEN USERNAME PASSWORD PUBLISHED_PID UNPUBLISHED_PID

Prints one JSON object: for each client and way of logging in, the files each dataset lists
(storage path, size, checksum algorithm, checksum), or the error the client raised. The Swift
test (Tests/EndToEndTests/SciCatClientTests.swift) compares them with datapin's listing.
"""

import json
import sys
import warnings


def quiet(call):
    """The result of `call`, or {"error": "<type>: <message>"}."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return call()
    except Exception as error:  # the check reports what the client raised
        return {"error": f"{type(error).__name__}: {error}"}


def storage_path(folder, path):
    return path if path.startswith("/") else folder.rstrip("/") + "/" + path


def pyscicat_files(client, pid):
    dataset = client.datasets_get_one(pid)
    blocks = client.datasets_origdatablocks_get_one(pid)
    files = []
    for block in blocks:
        for entry in block["dataFileList"]:
            files.append({"path": storage_path(dataset["sourceFolder"], entry["path"]), "size": entry["size"],
                          "chkAlg": block.get("chkAlg"), "chk": entry.get("chk")})
    return {"pid": dataset["pid"], "files": sorted(files, key=lambda f: f["path"])}


def scitacean_files(client, pid):
    dataset = client.get_dataset(pid)
    files = []
    for file in dataset.files:
        files.append({"path": storage_path(dataset.source_folder.posix, file.remote_path.posix), "size": file.size,
                      "chkAlg": file.checksum_algorithm, "chk": file.checksum()})
    return {"pid": str(dataset.pid), "files": sorted(files, key=lambda f: f["path"])}


def main():
    base, token, username, password, published, unpublished = sys.argv[1:7]
    import pyscicat.client as pyscicat
    from scitacean import Client

    report = {}
    with_token = pyscicat.ScicatClient(base_url=base, token=token)
    report["pyscicat token"] = {pid: quiet(lambda pid=pid: pyscicat_files(with_token, pid)) for pid in (published, unpublished)}
    report["pyscicat login"] = quiet(lambda: pyscicat_files(pyscicat.from_credentials(base, username, password), unpublished))
    scitacean_token = Client.from_token(url=base, token=token, allow_http=True)
    report["scitacean token"] = {pid: quiet(lambda pid=pid: scitacean_files(scitacean_token, pid)) for pid in (published, unpublished)}
    anonymous = Client.without_login(url=base, allow_http=True)
    report["scitacean anonymous"] = {pid: quiet(lambda pid=pid: scitacean_files(anonymous, pid)) for pid in (published, unpublished)}
    report["scitacean login"] = quiet(lambda: scitacean_files(Client.from_credentials(url=base, username=username, password=password, allow_http=True), unpublished))
    print(json.dumps(report, sort_keys=True, default=str))


if __name__ == "__main__":
    main()
