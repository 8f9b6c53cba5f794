#!/usr/bin/env bash
# relctl's main job on the embedded default (SQLite in $RELCTL_HOME, else ~/.relctl):
# publish two versions of examples/hello, split traffic 90/10, promote, roll back instantly.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product relctl >/dev/null
relctl() { .build/release/relctl "$@"; }

relctl function delete hello >/dev/null 2>&1 || true      # start the walkthrough afresh
relctl function create hello --dir examples/hello --runtime provided.al2023 --handler bootstrap --env GREETING=v1 --publish
relctl function update-config hello --env GREETING=v2 >/dev/null
relctl publish hello --description "greets v2"
relctl alias create hello live --version 1 --weight 2=0.1   # canary: 10% to version 2
relctl alias update hello live --version 2 --no-routing     # promote
relctl rollback hello live                                  # instant: back to 1, routing cleared
relctl history hello live
relctl quota
relctl fsck
