"""An office's jobs built from the layers below: distribution, collection, merging, filling, migration."""
