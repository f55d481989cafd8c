"""python-tuf's ngclient as a peer in the benchmarks: refresh the metadata from a trusted root,
then download and verify the named targets (or none).

    python python_tuf_client.py ROOT METADATA_URL TARGETS_URL WORK_DIR [TARGET...]

WORK_DIR is emptied first. The size limits are raised so that a targets.json of 100,000 targets
(about 22 MB) can be read at all; the defaults would refuse it.
"""

import os
import shutil
import sys

from tuf.ngclient import Updater, UpdaterConfig


def main():
    root, metadata_url, targets_url, work = sys.argv[1:5]
    names = sys.argv[5:]
    shutil.rmtree(work, ignore_errors=True)
    metadata_dir = os.path.join(work, "metadata")
    target_dir = os.path.join(work, "targets")
    os.makedirs(metadata_dir)
    os.makedirs(target_dir)
    with open(root, "rb") as f:
        bootstrap = f.read()
    config = UpdaterConfig(
        targets_max_length=256 * 1024 * 1024,
        snapshot_max_length=64 * 1024 * 1024,
    )
    updater = Updater(
        metadata_dir=metadata_dir,
        metadata_base_url=metadata_url,
        target_base_url=targets_url,
        target_dir=target_dir,
        config=config,
        bootstrap=bootstrap,
    )
    updater.refresh()
    for name in names:
        info = updater.get_targetinfo(name)
        if info is None:
            sys.exit("no target %s" % name)
        updater.download_target(info)


if __name__ == "__main__":
    main()
